import Foundation
import HappeningGeo
import HappeningPostgres
import TestSupport
import Testing

private func withScratchDatabase<T>(_ body: (String) async throws -> T) async throws -> T {
    try await TestEnvironment.withScratchDatabase(prefix: "schema", body)
}

private func applyInitSQL(_ url: String) async throws -> (status: Int32, output: String) {
    try await TestEnvironment.applySchema(url)
}

@Suite("Schema (init.sql)", .timeLimit(.minutes(10)))
struct SchemaTests {
    @Test("init.sql applies twice to the same database without error")
    func reRunnable() async throws {
        try await withScratchDatabase { url in
            let first = try await applyInitSQL(url)
            #expect(first.status == 0, "\(first.output)")
            let second = try await applyInitSQL(url)
            #expect(second.status == 0, "\(second.output)")
            let client = PostgresClient(configuration: .init(url: url, poolSize: 1))
            let tables = try await client.query(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = ANY($1::text[])",
                ["{users,host_bank_accounts,events,bookings,payments,payouts}"])
            #expect(try tables[0].decode(0) == 6)
            await client.shutdown()
        }
    }

    @Test("the CHECK keeps available_tickets between 0 and total_tickets")
    func availableTicketsCheck() async throws {
        let client = PostgresClient(configuration: .init(url: TestEnvironment.databaseURL, poolSize: 1))
        struct Rollback: Error {}
        await #expect(throws: Rollback.self) {
            try await client.withTransaction { tx in
                let host = try await tx.query(
                    "INSERT INTO users (email, password_hash, name) VALUES ($1, 'x', 'Host') RETURNING id",
                    ["check-\(TestEnvironment.uniqueSuffix())@example.com"])[0].decode(0, as: UUID.self)
                let event = try await tx.query(
                    """
                    INSERT INTO events (created_by, title, date_time, venue, total_tickets, available_tickets, price, category)
                    VALUES ($1, 'Gig', now() + interval '1 day', 'Hall', 10, 10, 499.00, 'music') RETURNING id
                    """, [host])[0].decode(0, as: UUID.self)
                for bad in [-1, 11] {
                    do {
                        try await tx.query("SAVEPOINT s")
                        try await tx.query("UPDATE events SET available_tickets = $1 WHERE id = $2", [bad, event])
                        Issue.record("available_tickets = \(bad) was accepted")
                    } catch let error as PostgresError {
                        #expect(error.sqlState == "23514")
                        #expect(error.constraint == "events_available_tickets_check")
                        try await tx.query("ROLLBACK TO SAVEPOINT s")
                    }
                }
                // Decrementing within bounds works; past zero it is refused by the database itself.
                try await tx.query("UPDATE events SET available_tickets = available_tickets - 10 WHERE id = $1", [event])
                try await tx.query("SAVEPOINT s")
                do {
                    try await tx.query("UPDATE events SET available_tickets = available_tickets - 1 WHERE id = $1", [event])
                    Issue.record("a decrement below zero was accepted")
                } catch let error as PostgresError {
                    #expect(error.sqlState == "23514")
                }
                throw Rollback()
            }
        }
        await client.shutdown()
    }

    @Test("the near-me query uses the GiST index on 50,000 events; the homepage query its composite index")
    func geoIndexIsUsed() async throws {
        try await withScratchDatabase { url in
            #expect(try await applyInitSQL(url).status == 0)
            let client = PostgresClient(configuration: .init(url: url, poolSize: 1))
            let host: UUID = try await client.query(
                "INSERT INTO users (email, password_hash, name) VALUES ('geo@example.com', 'x', 'Geo Host') RETURNING id")[0].decode(0)
            // 50,000 events spread over India (deterministic pseudo-random positions).
            var generator = SplitMix64(seed: 42)
            let now = Date()
            let rows = (0..<50_000).map { index -> PostgresBindings in
                let latitude = 8.0 + Double(generator.next() % 2_800_000) / 100_000  // 8°N … 36°N
                let longitude = 68.0 + Double(generator.next() % 2_900_000) / 100_000  // 68°E … 97°E
                return [
                    host, "Event \(index)", now.addingTimeInterval(Double(index % 90) * 86_400 + 3600), "Venue \(index)",
                    100, 100, PostgresNumeric(minorUnits: 49_900, scale: 2), "music", "approved",
                    PostgresNumeric(String(format: "%.6f", latitude))!, PostgresNumeric(String(format: "%.6f", longitude))!,
                ]
            }
            try await client.withConnection { conn in
                try await conn.copyFrom(
                    table: "events",
                    columns: [
                        "created_by", "title", "date_time", "venue", "total_tickets", "available_tickets", "price",
                        "category", "approval_status", "latitude", "longitude",
                    ],
                    rows: rows)
            }
            try await client.query("ANALYZE events")
            // Bhopal, 25 km.
            let box = GeoBoundingBox(latitude: 23.2599, longitude: 77.4126, radiusMeters: 25_000)
            let plan = try await client.query(
                """
                EXPLAIN SELECT e.id, earth_distance(ll_to_earth($1, $2), ll_to_earth(e.latitude, e.longitude)) AS meters
                FROM events e
                WHERE \(GeoBoundingBox.predicate(table: "e", firstParameter: 4))
                  AND earth_distance(ll_to_earth($1, $2), ll_to_earth(e.latitude, e.longitude)) <= $3
                  AND e.approval_status = 'approved' AND NOT e.is_cancelled AND e.date_time > now()
                ORDER BY meters
                """, ([23.2599, 77.4126, 25_000.0] + box.parameters).map { $0 as (any PostgresEncodable)? })
            let text = plan.map { (try? $0.decode(0, as: String.self)) ?? "" }.joined(separator: "\n")
            #expect(text.contains("events_location_gist_idx"), "plan:\n\(text)")

            let homepage = try await client.query(
                """
                EXPLAIN SELECT id FROM events
                WHERE approval_status = 'approved' AND is_cancelled = false AND date_time > now()
                ORDER BY date_time LIMIT 20
                """)
            let homepageText = homepage.map { (try? $0.decode(0, as: String.self)) ?? "" }.joined(separator: "\n")
            #expect(homepageText.contains("events_homepage_idx"), "plan:\n\(homepageText)")
            await client.shutdown()
        }
    }
}

/// A tiny deterministic generator (SplitMix64), so the test data is the same on every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
