import Foundation
import HappeningAuth
import HappeningConfig
import HappeningPostgres
import Hummingbird
import HummingbirdTesting
import Logging
import Razorpay
import TestSupport
import Testing

@testable import Server

/// Attacks on sign-in, accounts, operator configuration and shared caches from the security review of 2026-12-06
/// (`shared/reference/security-audit-2026-12-06.md`). Every test fails on the code before its fix.
@Suite("Accounts and configuration under attack", .timeLimit(.minutes(10)))
struct AccountAttackTests {
    /// Settings of a production server: real-looking Razorpay keys, no DEV_MODE.
    private static let production = [
        "DEV_MODE": "0", "RAZORPAY_KEY_ID": "rzp_live_x", "RAZORPAY_KEY_SECRET": "secret", "RAZORPAY_WEBHOOK_SECRET": "webhook-secret",
    ]

    @Test("attack: 40 parallel wrong passwords for one account have at most the limit (5) checked; other users still sign in")
    func parallelGuessesAreCountedFirst() async throws {
        try await withServer(["LOGIN_MAX_FAILURES": "5"]) { client in
            let victim = uniqueEmail("victim")
            _ = try await client.register(email: victim, password: "right-pass-1")
            let bystander = uniqueEmail("bystander")
            _ = try await client.register(email: bystander, password: "right-pass-2")
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for attempt in 0..<40 {
                    group.addTask {
                        try await client.send(.post, "/api/auth/login", json: #"{"email":"\#(victim)","password":"guess-\#(attempt)-x1"}"#).status
                    }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            let checked = statuses.filter { $0 == .unauthorized }.count
            #expect(checked <= 5, "\(checked) guesses were checked")
            #expect(checked + statuses.filter { $0 == .tooManyRequests }.count == 40)
            let right = try await client.send(.post, "/api/auth/login", json: #"{"email":"\#(victim)","password":"right-pass-1"}"#)
            #expect(right.status == .tooManyRequests, "the account's window is used up, even for the right password")
            let other = try await client.send(.post, "/api/auth/login", json: #"{"email":"\#(bystander)","password":"right-pass-2"}"#)
            #expect(other.status == .ok)
        }
    }

    @Test("attack: an email followed by a NUL byte neither signs in as the victim nor escapes its counter; NUL anywhere is a 400")
    func nulBytesAreRefused() async throws {
        try await withServer { client in
            let email = uniqueEmail("victim")
            let token = try await client.register(email: email, password: "right-pass-1")
            let login = try await client.send(.post, "/api/auth/login", json: #"{"email":"\#(email)\u0000x","password":"right-pass-1"}"#)
            #expect(login.status == .badRequest && login.errorCode == "nul_in_text")
            let apply = try await client.send(
                .post, "/api/hosts/apply",
                json:
                    #"{"phone":"9876543210","idType":"pan","idNumber":"ABCDE1234F","bio":"a\u0000b","account_holder_name":"A","account_number":"001122334455","ifsc_code":"HDFC0001234","bank_name":"HDFC"}"#,
                token: token)
            #expect(apply.status == .badRequest && apply.errorCode == "nul_in_text")
            // Query text reaches PostgreSQL through the database client, which refuses it there too.
            let search = try await client.send(.get, "/api/events/public/search?query=ab%00cd")
            #expect(search.status == .badRequest && search.errorCode == "nul_in_text")
            // An escaped backslash followed by u0000 is text, not a NUL.
            let literal = try await client.send(.post, "/api/auth/login", json: #"{"email":"\#(email)","password":"\\u0000-not-nul-1"}"#)
            #expect(literal.status == .unauthorized)
        }
    }

    @Test("attack: one address registering accounts without end is limited per hour")
    func registrationIsLimited() async throws {
        try await withServer(["REGISTRATIONS_PER_IP_PER_HOUR": "3"]) { client in
            for _ in 0..<3 { _ = try await client.register(email: uniqueEmail()) }
            let fourth = try await client.send(.post, "/api/auth/register", json: #"{"email":"\#(uniqueEmail())","password":"correct horse 1","name":"X"}"#)
            #expect(fourth.status == .tooManyRequests && Int(fourth.headers[.retryAfter] ?? "") ?? 0 > 0)
        }
    }

    @Test("attack: a flood of sign-ins cannot queue bcrypt work without bound: past the limit the answer is 503 at once")
    func bcryptQueueIsBounded() async throws {
        let hasher = PasswordHasher(cost: 13, threads: 1, queueLimit: 1)
        let running = Task { try await hasher.hash("a long hash keeps the queue full 1") }
        try await eventually("the first hash to be running") {
            hasher.queuedCount
        } until: {
            $0 == 1
        }
        await #expect { try await hasher.verify("another 1", hash: nil) } throws: { ($0 as? AppError)?.code == "busy" }
        _ = try await running.value
        #expect(try await hasher.verify("another 1", hash: nil) == false, "room again once the first is done")
        await hasher.shutdown()
    }

    @Test("behind a trusted proxy the client is the last untrusted X-Forwarded-For hop; anyone else cannot choose their address")
    func clientAddressFromTrustedProxy() {
        let address = ClientAddress(trustedProxies: ["10.0.0.5", "10.0.0.6"])
        #expect(address.resolve(peer: "10.0.0.5", forwardedFor: "203.0.113.7") == "203.0.113.7")
        #expect(address.resolve(peer: "10.0.0.5", forwardedFor: "1.1.1.1, 203.0.113.7, 10.0.0.6") == "203.0.113.7", "a client-sent hop is ignored")
        #expect(address.resolve(peer: "198.51.100.9", forwardedFor: "203.0.113.7") == "198.51.100.9", "an untrusted peer keeps its own address")
        #expect(address.resolve(peer: "10.0.0.5", forwardedFor: nil) == "10.0.0.5")
    }

    @Test("attack: an ADMIN_EMAIL registered in advance by someone else is never promoted: the server refuses to start")
    func preRegisteredAdminIsNotPromoted() async throws {
        let email = uniqueEmail("future-admin").lowercased()
        try await withServer { client in _ = try await client.register(email: email, password: "attacker-pass-1") }
        await #expect { try await withServer(["ADMIN_EMAIL": email, "ADMIN_PASSWORD": "admin-pass-1"]) { _ in } } throws: { error in
            (error as? StartupChecks.Refused)?.description.contains("is not an admin") ?? false
        }
    }

    @Test("attack: tokens issued before the admin's password changed are revoked")
    func passwordChangeRevokesTokens() async throws {
        let email = uniqueEmail("admin").lowercased()
        let oldToken = LockedValue("")
        try await withServer(["ADMIN_EMAIL": email, "ADMIN_PASSWORD": "first-pass-1"]) { client in
            let token =
                try await client.send(.post, "/api/auth/login", json: #"{"email":"\#(email)","password":"first-pass-1"}"#).json()["token"] as? String ?? ""
            #expect(try await client.send(.get, "/api/profile", token: token).status == .ok)
            oldToken.withLock { $0 = token }
        }
        let stolen = oldToken.value
        try await withServer(["ADMIN_EMAIL": email, "ADMIN_PASSWORD": "second-pass-2"]) { client in
            let refused = try await client.send(.get, "/api/profile", token: stolen)
            #expect(refused.status == .unauthorized && refused.errorCode == "token_revoked")
            let fresh = try await client.send(.post, "/api/auth/login", json: #"{"email":"\#(email)","password":"second-pass-2"}"#)
            let token = try fresh.json()["token"] as? String ?? ""
            #expect(try await client.send(.get, "/api/profile", token: token).status == .ok)
        }
    }

    @Test("operator safety: without DEV_MODE=1 simulated payments and seeded dev accounts refuse to start, each with one line")
    func dangerousConfigurationsRefuseToStart() async throws {
        #expect(throws: Settings.Invalid.self) { try ServerConfiguration(testSettings(["DEV_MODE": "0"])) }
        let production = try ServerConfiguration(testSettings(Self.production))
        #expect(!production.razorpay.isSimulated && !production.devMode)
        try await TestEnvironment.withScratchDatabase(prefix: "devaccounts") { url in
            let schema = try await TestEnvironment.applySchema(url)
            try #require(schema.status == 0, "\(schema.output)")
            let settings = Self.production.merging(["DATABASE_URL": url]) { $1 }
            try await withServer(settings) { client in
                let status = try await client.send(.get, "/api/health/live").status
                #expect(status == .ok, "a clean production database starts")
            }
            let postgres = PostgresClient(configuration: .init(url: url, poolSize: 1))
            try await postgres.query(
                "INSERT INTO users (email, name, password_hash) VALUES ('seeded@bench.happening.test', 'Seeded', $1)", [DevCredentials.passwordHash])
            await postgres.shutdown()
            await #expect { try await withServer(settings) { _ in } } throws: { error in
                (error as? StartupChecks.Refused)?.description.contains("published development password") ?? false
            }
            try await withServer(settings.merging(["DEV_MODE": "1"]) { $1 }) { client in
                let status = try await client.send(.get, "/api/health/live").status
                #expect(status == .ok, "a development stack may hold them")
            }
        }
    }

    @Test("attack: search text spelling another search's query (ghazal&category=music) cannot poison that search's cached page")
    func searchCacheKeyCannotBePoisoned() async throws {
        let admin = uniqueEmail("admin").lowercased()
        try await withServer(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1"]) { client in
            let token = try await Fixtures.adminToken(client, email: admin)
            // Twelve random letters: the test database keeps earlier runs' events, so the word must be new every run.
            let word = "ghazal" + String((0..<12).map { _ in "abcdefghijklmnopqrstuvwxyz".randomElement()! })
            for index in 0..<3 {
                #expect(try await client.send(.post, "/api/events", json: eventJSON(title: "\(word) night \(index)"), token: token).status == .created)
            }
            let poison = try await client.send(.get, "/api/events/public/search?query=\(word)%26category%3Dmusic")
            #expect(poison.status == .ok)
            let real = try await client.send(.get, "/api/events/public/search?query=\(word)&category=music").json()
            #expect((real["events"] as? [[String: Any]])?.count == 3, "the real page still lists the events")
        }
    }
}
