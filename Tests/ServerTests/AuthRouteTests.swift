import Foundation
import HappeningAuth
import HappeningModel
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import Server

@Suite("Auth routes", .timeLimit(.minutes(10)))
struct AuthRouteTests {
    @Test("register → 201 with user and token; the same email in other case → 409")
    func register() async throws {
        try await withServer { client in
            let email = uniqueEmail()
            let response = try await client.send(.post, "/api/auth/register", json: #"{"email":"\#(email)","password":"s3cret-pass","name":"Asha"}"#)
            #expect(response.status == .created)
            let body = try response.json()
            let user = try #require(body["user"] as? [String: Any])
            #expect(user["email"] as? String == email.lowercased())
            #expect(user["role"] as? String == "user")
            #expect(user["name"] as? String == "Asha")
            #expect((body["token"] as? String)?.split(separator: ".").count == 3)
            #expect(body["message"] is String)
            #expect(user["password_hash"] == nil)

            let again = try await client.send(.post, "/api/auth/register", json: #"{"email":"\#(email.uppercased())","password":"s3cret-pass","name":"Asha"}"#)
            #expect(again.status == .conflict)
            #expect(again.errorCode == "email_taken")
        }
    }

    @Test("register rejects bad input with 400 and field details, never 500")
    func registerValidation() async throws {
        try await withServer { client in
            let invalid = try await client.send(.post, "/api/auth/register", json: #"{"email":"not-an-email","password":"short","name":""}"#)
            #expect(invalid.status == .badRequest)
            #expect(invalid.errorCode == "validation_failed")
            let details = try #require(try invalid.json()["details"] as? [String: String])
            #expect(Set(details.keys) == ["email", "password", "name"])

            let noDigit = try await client.send(.post, "/api/auth/register", json: #"{"email":"\#(uniqueEmail())","password":"onlyletters","name":"X"}"#)
            #expect(noDigit.status == .badRequest)

            for body in ["{", "[]", "null", #"{"email": 5, "password": "x1234567", "name": "n"}"#, "\u{0}\u{1}", "not json"] {
                let response = try await client.send(.post, "/api/auth/register", json: body)
                #expect(response.status == .badRequest, "body \(body.debugDescription) gave \(response.status)")
                #expect(response.errorCode == "invalid_json" || response.errorCode == "validation_failed")
            }
            let empty = try await client.send(.post, "/api/auth/register")
            #expect(empty.status == .badRequest)

            let huge = String(repeating: "a", count: 100_000)
            let tooLarge = try await client.send(.post, "/api/auth/register", json: #"{"email":"a@b.co","password":"\#(huge)","name":"x"}"#)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.errorCode == "body_too_large")
        }
    }

    @Test("login → 200 with token (email case-insensitive); wrong password or unknown email → 401")
    func login() async throws {
        try await withServer { client in
            let email = uniqueEmail()
            _ = try await client.register(email: email, password: "right-pass-1")
            let ok = try await client.send(.post, "/api/auth/login", json: #"{"email":"\#(email.uppercased())","password":"right-pass-1"}"#)
            #expect(ok.status == .ok)
            #expect((try ok.json()["token"] as? String) != nil)

            let wrong = try await client.send(.post, "/api/auth/login", json: #"{"email":"\#(email)","password":"wrong-pass-1"}"#)
            #expect(wrong.status == .unauthorized)
            #expect(wrong.errorCode == "invalid_credentials")
            let unknown = try await client.send(.post, "/api/auth/login", json: #"{"email":"\#(uniqueEmail())","password":"whatever-1"}"#)
            #expect(unknown.status == .unauthorized)
            let missing = try await client.send(.post, "/api/auth/login", json: #"{"email":"\#(email)"}"#)
            #expect(missing.status == .badRequest)
        }
    }

    @Test("repeated failed logins for one account are rate limited with 429 and Retry-After")
    func loginRateLimit() async throws {
        try await withServer(["LOGIN_MAX_FAILURES": "3"]) { client in
            let email = uniqueEmail()
            _ = try await client.register(email: email, password: "right-pass-1")
            for _ in 0..<3 {
                let response = try await client.send(.post, "/api/auth/login", json: #"{"email":"\#(email)","password":"wrong-pass-1"}"#)
                #expect(response.status == .unauthorized)
            }
            let limited = try await client.send(.post, "/api/auth/login", json: #"{"email":"\#(email)","password":"right-pass-1"}"#)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.errorCode == "rate_limited")
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 > 0)
        }
    }

    @Test("the per-IP login limit is counted per deployment (CACHE_PREFIX): another deployment on the same Redis is not locked out")
    func loginLimitPerDeployment() async throws {
        let email = uniqueEmail()
        let limits = ["LOGIN_MAX_FAILURES_PER_IP": "2", "CACHE_PREFIX": "limits-a-\(TestEnvironment.uniqueSuffix()):"]
        try await withServer(limits) { client in
            _ = try await client.register(email: email, password: "right-pass-1")
            for attempt in 0..<2 {
                let wrong = try await client.send(.post, "/api/auth/login", json: #"{"email":"other-\#(attempt)-\#(email)","password":"wrong-pass-1"}"#)
                #expect(wrong.status == .unauthorized)
            }
            let limited = try await client.send(.post, "/api/auth/login", json: #"{"email":"\#(email)","password":"right-pass-1"}"#)
            #expect(limited.status == .tooManyRequests)
        }
        try await withServer(["LOGIN_MAX_FAILURES_PER_IP": "2", "CACHE_PREFIX": "limits-b-\(TestEnvironment.uniqueSuffix()):"]) { client in
            let login = try await client.send(.post, "/api/auth/login", json: #"{"email":"\#(email)","password":"right-pass-1"}"#)
            #expect(login.status == .ok)
        }
    }

    @Test("profile: 401 without, with a forged or an expired token; 200 with a valid one")
    func profile() async throws {
        try await withServer { client in
            let email = uniqueEmail()
            let token = try await client.register(email: email)
            let ok = try await client.send(.get, "/api/profile", token: token)
            #expect(ok.status == .ok)
            let user = try #require(try ok.json()["user"] as? [String: Any])
            #expect(user["email"] as? String == email.lowercased())
            #expect(user["host_status"] as? String == "not_requested")
            #expect(user["is_host"] as? Bool == false)

            let none = try await client.send(.get, "/api/profile")
            #expect(none.status == .unauthorized)
            #expect(none.errorCode == "token_missing")
            let forged = try await client.send(.get, "/api/profile", token: token.dropLast(3) + "abc")
            #expect(forged.status == .unauthorized)
            #expect(forged.errorCode == "token_invalid")
            let garbage = try await client.send(.get, "/api/profile", token: "garbage")
            #expect(garbage.status == .unauthorized)

            let tokens = TokenService(secret: "test-secret-that-is-long-enough-for-hs256-0123456789", ttl: .seconds(60))
            let profile = try await client.send(.get, "/api/profile", token: token)
            let id = try #require(UUID(uuidString: (try profile.json()["user"] as? [String: Any])?["id"] as? String ?? ""))
            let expired = try tokens.issue(
                for: AuthenticatedUser(id: id, email: email, name: "x", role: .user, is_host: false, host_status: .notRequested),
                now: Date().addingTimeInterval(-3600))
            let stale = try await client.send(.get, "/api/profile", token: expired)
            #expect(stale.status == .unauthorized)
        }
    }

    @Test("ADMIN_EMAIL and ADMIN_PASSWORD create (or update) an admin at start-up")
    func adminAtStartup() async throws {
        let email = uniqueEmail("admin").lowercased()
        try await withServer(["ADMIN_EMAIL": email, "ADMIN_PASSWORD": "admin-pass-1"]) { client in
            let login = try await client.send(.post, "/api/auth/login", json: #"{"email":"\#(email)","password":"admin-pass-1"}"#)
            #expect(login.status == .ok)
            #expect((try login.json()["user"] as? [String: Any])?["role"] as? String == "admin")
        }
        // A restart with a new password updates it.
        try await withServer(["ADMIN_EMAIL": email, "ADMIN_PASSWORD": "admin-pass-2"]) { client in
            let login = try await client.send(.post, "/api/auth/login", json: #"{"email":"\#(email)","password":"admin-pass-2"}"#)
            #expect(login.status == .ok)
        }
    }
}
