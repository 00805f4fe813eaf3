import Foundation
import HappeningAuth
import HappeningGeo
import HappeningHTTP
import HappeningPostgres
import TestSupport
import Testing

@testable import Seed

/// The real `happening-server` binary on a seeded scratch database (cache off, so every read hits PostgreSQL).
private func withSeededServer(_ body: (_ baseURL: String, _ databaseURL: String, _ secret: String, _ tokens: [Fixtures.BenchUser]) async throws -> Void)
    async throws
{
    try await TestEnvironment.withScratchDatabase(prefix: "seedsrv") { url in
        let secret = "seed-test-secret-\(UUID().uuidString)"
        let tokensFile = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(TestEnvironment.uniqueSuffix()).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: tokensFile) }
        // Anchored today, so two thirds of the events are upcoming and searchable.
        var request = try seedRequest(url, users: 400, events: 30_000, anchor: SeedPlan.format(day: Int(Date().timeIntervalSince1970 / 86_400)))
        request.benchUsers = 5
        request.tokensOut = tokensFile
        request.jwtSecret = secret
        _ = try await runSeeder(request)
        let decoder = JSONDecoder()
        let tokens = try String(contentsOfFile: tokensFile, encoding: .utf8).split(separator: "\n").map {
            try decoder.decode(Fixtures.BenchUser.self, from: Data($0.utf8))
        }

        let (server, port) = try await ChildProcess.startServing("happening-server", path: "/api/health") { port in
            [
                "DATABASE_URL": url, "REDIS_URL": TestEnvironment.redisURL, "AMQP_URL": TestEnvironment.amqpURL,
                "JWT_SECRET": secret, "PORT": String(port), "CACHE": "off", "CACHE_PREFIX": "seedtest-\(TestEnvironment.uniqueSuffix())",
                "LOG_LEVEL": "error", "BOOKING_QUEUE": "seedtest-\(TestEnvironment.uniqueSuffix())",
            ]
        }
        try await server.whileRunning {
            let base = "http://127.0.0.1:\(port)"
            try await body(base, url, secret, tokens)
        }
    }
}

@Suite("Seeded data through the real server", .serialized, .timeLimit(.minutes(10)))
struct SeededServerTests {
    @Test("tokens from --tokens-out are accepted by the server (and a tampered one is not)")
    func tokensAccepted() async throws {
        try await withSeededServer { base, _, _, tokens in
            #expect(tokens.count == 5)
            let http = CurlHTTPClient()
            for user in tokens {
                let response = try await http.sendPatiently(HTTPClientRequest(url: base + "/api/profile", headers: [("Authorization", "Bearer \(user.token)")]))
                #expect(response.status == 200, "\(response.status) \(response.text)")
                #expect(response.text.contains(user.email))
            }
            // The shared dev password logs the seed's admin in (the precomputed hash is a real bcrypt of it).
            let login = try await http.sendPatiently(
                HTTPClientRequest(
                    method: "POST", url: base + "/api/auth/login", headers: [("Content-Type", "application/json")],
                    body: Array(#"{"email":"admin@seed42.happening.test","password":"\#(DevCredentials.password)"}"#.utf8)))
            #expect(login.status == 200, "\(login.status) \(login.text)")
            #expect(login.text.contains(#""role":"admin""#))
            let tampered = try await http.sendPatiently(
                HTTPClientRequest(url: base + "/api/profile", headers: [("Authorization", "Bearer \(tokens[0].token.dropLast(2))xx")]))
            #expect(tampered.status == 401)
            await http.shutdown()
        }
    }

    @Test("near-me on seeded data: nearest first, within the radius, and the plan uses the GiST index")
    func nearMe() async throws {
        try await withSeededServer { base, url, _, _ in
            let http = CurlHTTPClient()
            let response = try await http.sendPatiently(
                HTTPClientRequest(url: base + "/api/events/public/search?lat=19.0760&lng=72.8777&radius_km=10&sort=distance&limit=100"))
            await http.shutdown()
            #expect(response.status == 200, "\(response.text)")
            let json = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
            let events = try #require(json?["events"] as? [[String: Any]], "\(response.text.prefix(300))")
            let distances = events.compactMap { $0["distance_km"] as? Double }
            #expect(events.count >= 20, "only \(events.count) events near Mumbai")
            #expect(distances.count == events.count)
            #expect(distances == distances.sorted(), "not ordered by distance: \(distances.prefix(20))")
            #expect(distances.allSatisfy { $0 <= 10.0 })

            // The same predicate the server builds, on the seeded table: the planner picks the GiST index.
            let box = GeoBoundingBox(latitude: 19.0760, longitude: 72.8777, radiusMeters: 10_000)
            let client = PostgresClient(configuration: .init(url: url, poolSize: 1))
            let plan = try await client.query(
                """
                EXPLAIN SELECT e.id FROM events e
                WHERE \(GeoBoundingBox.predicate(table: "e", firstParameter: 1))
                  AND e.approval_status = 'approved' AND NOT e.is_cancelled AND e.date_time > now()
                """, box.parameters.map { $0 as (any PostgresEncodable)? })
            let text = plan.map { (try? $0.decode(0, as: String.self)) ?? "" }.joined(separator: "\n")
            #expect(text.contains("events_location_gist_idx"), "plan:\n\(text)")
            await client.shutdown()
        }
    }
}
