import ArgumentParser
import Foundation
import HappeningAuth
import HappeningCommandLine
import HappeningGeo
import HappeningModel
import HappeningPostgres
import HappeningSystem
import TestSupport
import Testing

@testable import Seed

/// A request like `happening-seed --reset …` against `url`, anchored on a fixed day so rows are comparable.
func seedRequest(
    _ url: String, seed: UInt64 = 42, users: Int = 300, events: Int = 3_000, bookings: Int = 0,
    batchSize: Int = 1_000, cities: [String]? = nil, anchor: String = "2026-01-15"
) throws -> SeedRequest {
    let gazetteer = Gazetteer()
    let chosen = try cities.map { try $0.map { try #require(gazetteer.city(named: $0)) } } ?? gazetteer.cities
    let plan = SeedPlan(
        seed: seed, anchorDay: try #require(SeedPlan.parse(day: anchor)), users: users,
        hosts: max(1, users / 20), events: events, bookings: bookings, cities: chosen,
        cityWeights: chosen.map { Double(gazetteer.populationThousands(of: $0)) })
    var request = SeedRequest(plan: plan, databaseURL: url)
    request.reset = true
    request.schemaSQL = try SeedCommand.schemaText(path: nil)  // the schema built into the seeder
    request.batchSize = batchSize
    return request
}

func runSeeder(_ request: SeedRequest, interruption: Interruption = Interruption()) async throws -> SeedSummary {
    try await Seeder(request: request, interruption: interruption, progress: ProgressReporter(style: .none)).run()
}

/// One md5 over every seeded table's rows in id order (whole rows as JSON), without `availability_version`: a
/// clock stamp by design (a reset must never reuse a version Redis still holds), not seeded data.
func checksum(_ url: String) async throws -> String {
    let client = PostgresClient(configuration: .init(url: url, poolSize: 1))
    var parts: [String] = []
    do {
        for table in ["users", "host_bank_accounts", "events", "bookings", "payments"] {
            let rows = try await client.query(
                "SELECT count(*)::text || ':' || coalesce(md5(string_agg((to_jsonb(t) - 'availability_version')::text, '|' ORDER BY t.id)), '') FROM \(table) t"
            )
            parts.append("\(table)=\(try rows[0].decode(0, as: String.self))")
        }
    } catch {
        await client.shutdown()
        throw error
    }
    await client.shutdown()
    return parts.joined(separator: " ")
}

@Suite("Seeder: deterministic, consistent, fast paths", .serialized, .timeLimit(.minutes(10)))
struct SeedTests {
    @Test("attack: outside a development stack (DEV_MODE=1) the seeder gives accounts no usable password, never the published one")
    func noPublishedPasswordOutsideDevelopment() throws {
        let command = try SeedCommand.parse(["--events", "10", "--users", "5", "--database-url", "postgres://x@127.0.0.1/x"])
        let production = try command.makeRequest(environment: [:])
        #expect(production.plan.passwordHash != DevCredentials.passwordHash && production.plan.passwordHash.hasPrefix("$2b$10$"))
        #expect(production.plan.passwordHash.count == DevCredentials.passwordHash.count, "bcrypt-shaped, so a login checks it like any other")
        #expect(try command.makeRequest(environment: [:]).plan.passwordHash != production.plan.passwordHash, "a fresh one every run")
        #expect(try command.makeRequest(environment: ["DEV_MODE": "1"]).plan.passwordHash == DevCredentials.passwordHash)
    }

    @Test("--reset without --schema applies the init.sql built into the seeder, the repository's file byte for byte")
    func bundledSchema() throws {
        let bundled = try SeedCommand.schemaText(path: nil)
        let repository = try String(contentsOf: TestEnvironment.repositoryRoot.appendingPathComponent("init.sql"), encoding: .utf8)
        #expect(bundled == repository)
        #expect(throws: UsageError.self) { try SeedCommand.schemaText(path: "/nonexistent/schema.sql") }
    }

    @Test("the same --seed gives the same rows, ids included; another seed gives others")
    func deterministic() async throws {
        let first = try await TestEnvironment.withScratchDatabase(prefix: "seed") { url in
            _ = try await runSeeder(try seedRequest(url, bookings: 2_000))
            return try await checksum(url)
        }
        // A different batch size must not matter: rows are functions of their index.
        let second = try await TestEnvironment.withScratchDatabase(prefix: "seed") { url in
            _ = try await runSeeder(try seedRequest(url, bookings: 2_000, batchSize: 777))
            return try await checksum(url)
        }
        let other = try await TestEnvironment.withScratchDatabase(prefix: "seed") { url in
            _ = try await runSeeder(try seedRequest(url, seed: 43, bookings: 2_000))
            return try await checksum(url)
        }
        #expect(first == second)
        #expect(first != other)
        #expect(first.contains("events=3000:"))
        #expect(first.contains("users=301:"))  // 300 + the seed's admin
    }

    @Test("after --bookings every ledger invariant holds and the data has the promised shape")
    func invariants() async throws {
        try await TestEnvironment.withScratchDatabase(prefix: "seed") { url in
            let summary = try await runSeeder(try seedRequest(url, users: 500, events: 2_000, bookings: 8_000))
            #expect(summary.tables.first { $0.table == "bookings" }?.rows == 8_000)
            let client = PostgresClient(configuration: .init(url: url, poolSize: 1))
            func count(_ sql: String) async throws -> Int { try await client.query(sql)[0].decode(0) }

            // Tickets: available = total − held (pending + confirmed), per event.
            #expect(
                try await count(
                    """
                    SELECT count(*) FROM events e LEFT JOIN (
                        SELECT event_id, sum(ticket_count) AS held FROM bookings WHERE status IN ('pending', 'confirmed') GROUP BY event_id
                    ) b ON b.event_id = e.id WHERE e.available_tickets <> e.total_tickets - coalesce(b.held, 0)
                    """) == 0)
            #expect(try await count("SELECT count(*) FROM bookings WHERE status IN ('pending', 'confirmed')") > 0)
            #expect(try await count("SELECT count(*) FROM events WHERE available_tickets < total_tickets") > 0)
            // Only approved events hold tickets; amounts are exact.
            #expect(
                try await count(
                    """
                    SELECT count(*) FROM bookings b JOIN events e ON e.id = b.event_id
                    WHERE b.status IN ('pending', 'confirmed') AND (e.approval_status <> 'approved' OR e.is_cancelled)
                    """) == 0)
            #expect(try await count("SELECT count(*) FROM bookings b JOIN events e ON e.id = b.event_id WHERE b.total_amount <> e.price * b.ticket_count") == 0)
            // Payments: one per booking at most, amount = booking total; captured = confirmed revenue.
            #expect(try await count("SELECT count(*) FROM payments p JOIN bookings b ON b.id = p.booking_id WHERE p.amount <> b.total_amount") == 0)
            #expect(
                try await count(
                    """
                    SELECT count(*) FROM payments p JOIN bookings b ON b.id = p.booking_id
                    WHERE (p.status = 'captured' AND p.refund_status IS NULL) <> (b.status = 'confirmed')
                       OR (p.refund_status = 'processed' AND p.refund_amount = p.amount) <> (b.status = 'cancelled')
                       OR (p.status = 'created') <> (b.status = 'pending')
                    """) == 0)
            #expect(
                try await count(
                    """
                    SELECT count(*) FROM bookings b JOIN events e ON e.id = b.event_id
                    WHERE b.status = 'confirmed' AND e.price > 0 AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.booking_id = b.id)
                    """) == 0)
            // The shape: every category, free events, the approval mix, past and future dates, hosts with accounts, one admin.
            #expect(try await count("SELECT count(DISTINCT category) FROM events") == EventCategory.allCases.count)
            #expect(try await count("SELECT count(*) FROM events WHERE price = 0") > 100)
            #expect(try await count("SELECT count(DISTINCT approval_status) FROM events") == 3)
            #expect(try await count("SELECT count(*) FROM events WHERE is_cancelled") > 0)
            #expect(try await count("SELECT count(*) FROM events WHERE date_time < '2026-01-15'") > 200)
            #expect(try await count("SELECT count(*) FROM events WHERE date_time > '2026-01-15'") > 1_000)
            #expect(
                try await count(
                    "SELECT count(*) FROM events WHERE date_time < timestamptz '2026-01-15' - interval '91 days' OR date_time > timestamptz '2026-01-15' + interval '181 days'"
                ) == 0)
            #expect(
                try await count(
                    """
                    SELECT count(*) FROM events WHERE extract(isodow FROM date_time AT TIME ZONE 'Asia/Kolkata') IN (6, 7)
                    """) > 2 * 2_000 / 7)  // weekend bias: more than the 2/7 of a uniform spread
            #expect(
                try await count(
                    "SELECT count(*) FROM users u JOIN host_bank_accounts a ON a.user_id = u.id WHERE u.host_status = 'approved' AND a.is_payout_eligible")
                    == 25)
            #expect(try await count("SELECT count(*) FROM users WHERE role = 'admin'") == 1)
            #expect(try await count("SELECT count(*) FROM events e JOIN users u ON u.id = e.created_by WHERE u.host_status <> 'approved'") == 0)
            // Every index and foreign key is back after the load.
            #expect(
                try await count(
                    "SELECT count(*) FROM pg_indexes WHERE indexname IN ('events_location_gist_idx', 'events_homepage_idx', 'users_email_lower_key', 'bookings_event_id_idx')"
                ) == 4)
            #expect(try await count("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid = 'bookings'::regclass") == 2)
            await client.shutdown()
        }
    }

    @Test("without --reset rows are appended; the same seed twice is refused with a clear message")
    func append() async throws {
        try await TestEnvironment.withScratchDatabase(prefix: "seed") { url in
            _ = try await runSeeder(try seedRequest(url, users: 100, events: 500))
            var again = try seedRequest(url, seed: 7, users: 100, events: 500, bookings: 300)
            again.reset = false
            _ = try await runSeeder(again)
            let client = PostgresClient(configuration: .init(url: url, poolSize: 1))
            #expect(try await client.query("SELECT count(*) FROM events")[0].decode(0, as: Int.self) == 1_000)
            await client.shutdown()
            var same = try seedRequest(url, users: 100, events: 500)
            same.reset = false
            await #expect(throws: UsageError.self) { _ = try await runSeeder(same) }
        }
    }

    @Test("--min-events tops the events up to N with rows of their own, and adds nothing once N are there")
    func minimumEvents() async throws {
        try await TestEnvironment.withScratchDatabase(prefix: "seed") { url in
            _ = try await runSeeder(try seedRequest(url, users: 100, events: 500))
            func topUp(_ minimum: Int) async throws -> SeedSummary {
                var request = try seedRequest(url, users: 0, events: 0)
                (request.reset, request.minimumEvents) = (false, minimum)
                return try await runSeeder(request)
            }
            let first = try await topUp(1_200)
            #expect(first.events_present == 500)
            #expect(first.tables.first { $0.table == "events" }?.rows == 700)
            let second = try await topUp(1_000)
            #expect(second.events_present == 1_200 && second.tables.isEmpty, "nothing to add: \(second.tables)")
            let client = PostgresClient(configuration: .init(url: url, poolSize: 1))
            #expect(try await client.query("SELECT count(*) FROM events")[0].decode(0, as: Int.self) == 1_200)
            #expect(try await client.query("SELECT count(DISTINCT created_by) FROM events")[0].decode(0, as: Int.self) > 1)
            await client.shutdown()
        }
    }

    @Test("a large append to live tables rebuilds the GiST location index (CONCURRENTLY, left valid); a small one only analyses")
    func appendRebuildsGiST() async throws {
        try await TestEnvironment.withScratchDatabase(prefix: "seed") { url in
            _ = try await runSeeder(try seedRequest(url, users: 100, events: 2_000))
            func topUp(_ minimum: Int) async throws -> SeedSummary {
                var request = try seedRequest(url, users: 0, events: 0)
                (request.reset, request.minimumEvents) = (false, minimum)
                return try await runSeeder(request)
            }
            let large = try await topUp(20_000)
            #expect(large.reindexed == ["events_location_gist_idx"], "18,000 of 20,000 events appended: \(large.text())")
            #expect(large.index_seconds != nil)
            let small = try await topUp(20_500)
            #expect(small.reindexed == [], "500 of 20,500 appended is not worth a rebuild: \(small.text())")
            let client = PostgresClient(configuration: .init(url: url, poolSize: 1))
            let indexes = try await client.query(
                """
                SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                WHERE i.indrelid = 'events'::regclass AND c.relname LIKE 'events_location_gist_idx%'
                """)
            let found = try indexes.map { row in "\(try row.decode(0, as: String.self)):\(try row.decode(1, as: Bool.self))" }
            await client.shutdown()
            #expect(found == ["events_location_gist_idx:true"], "one valid index, no leftover of the concurrent rebuild: \(found)")
        }
    }

    @Test("Ctrl-C keeps whole batches only, and the indexes are rebuilt")
    func interrupted() async throws {
        try await TestEnvironment.withScratchDatabase(prefix: "seed") { url in
            let interruption = Interruption()
            let request = try seedRequest(url, users: 100, events: 400_000, batchSize: 10_000)
            let run = Task { try await runSeeder(request, interruption: interruption) }
            let client = PostgresClient(configuration: .init(url: url, poolSize: 1))
            try await eventually("two batches of events committed before the interruption", within: .seconds(300), every: .milliseconds(50)) {
                try await client.query("SELECT count(*) FROM events")[0].decode(0, as: Int.self)
            } until: {
                $0 >= 20_000
            }
            interruption.request()
            let summary = try await run.value
            #expect(summary.interrupted)
            let events: Int = try await client.query("SELECT count(*) FROM events")[0].decode(0)
            #expect(events >= 20_000 && events < 400_000)
            #expect(events % 10_000 == 0, "a half batch was committed: \(events) rows")
            #expect(summary.tables.first { $0.table == "events" }?.rows == events)
            #expect(try await client.query("SELECT count(*) FROM pg_indexes WHERE indexname = 'events_location_gist_idx'")[0].decode(0, as: Int.self) == 1)
            await client.shutdown()
        }
    }

    @Test("flash-sale fixture: an approved future event with exactly K tickets at the given price")
    func flashSale() async throws {
        try await TestEnvironment.withScratchDatabase(prefix: "seed") { url in
            #expect(try await TestEnvironment.applySchema(url).status == 0)
            var request = try seedRequest(url, users: 0, events: 0)
            request.reset = false
            request.flashSale = try FlashSaleSpec.parse("tickets=7,price=499.50").get()
            let summary = try await runSeeder(request)
            let id = try #require(summary.flash_sale_event?.id)
            let client = PostgresClient(configuration: .init(url: url, poolSize: 1))
            let row = try await client.query(
                "SELECT total_tickets, available_tickets, price::text, approval_status::text, date_time > now() FROM events WHERE id = $1", [id])[0]
            #expect(try row.decode(0, as: Int.self) == 7)
            #expect(try row.decode(1, as: Int.self) == 7)
            #expect(try row.decode(2, as: String.self) == "499.50")
            #expect(try row.decode(3, as: String.self) == "approved")
            #expect(try row.decode(4, as: Bool.self))
            // A second fixture is a new event; the fixture host and admin are reused.
            let second = try await runSeeder(request)
            #expect(second.flash_sale_event?.id != id)
            #expect(try await client.query("SELECT count(*) FROM users WHERE email LIKE 'bench-%'")[0].decode(0, as: Int.self) == 2)
            await client.shutdown()
        }
        for bad in ["tickets=0", "price=10", "tickets=5,price=1.234", "tickets=5,price=-1", "tickets=5,colour=red"] {
            if case .success(let spec) = FlashSaleSpec.parse(bad) { Issue.record("\(bad) was accepted as \(spec)") }
        }
    }

    @Test("the binary: bad arguments, an unknown city or an unreachable database print one message and exit 2")
    func usageErrors() async throws {
        func run(_ arguments: String) async throws -> (status: Int32, output: String) {
            try await TestEnvironment.shellOffPool(
                "'\(ChildProcess.binary("happening-seed"))' \(arguments)",
                environment: ["DATABASE_URL": TestEnvironment.databaseURL])
        }
        for (arguments, needle) in [
            ("--events -5", "--events"),
            ("--events 10 --cities Atlantis", "unknown city 'Atlantis'"),
            ("--cities Mumb", "did you mean Mumbai"),
            ("--bench-users 5 --tokens-out", "tokens-out"),
            ("--tokens-out /tmp/x.jsonl", "--tokens-out needs --bench-users"),
            ("--flash-sale-event tickets=-1", "tickets must be"),
            ("--flash-sale-event seats=5", "unknown key"),
            ("--anchor-date 2026-02-30", "--anchor-date"),
            ("--database-url postgres://nobody:secret-pw@127.0.0.1:1/none --events 1 --users 1", "cannot reach the database"),
        ] {
            let result = try await run(arguments)
            #expect(result.status == 2, "\(arguments): \(result.status) \(result.output)")
            #expect(result.output.contains(needle), "\(arguments): \(result.output)")
            #expect(!result.output.contains("secret-pw"), "the password leaked: \(result.output)")
            #expect(result.output.split(separator: "\n").count <= 2, "\(arguments): \(result.output)")
        }
    }
}
