import Foundation
import HappeningPostgres
import Hummingbird
import TestSupport
import Testing

@testable import HappeningBench

/// Another booking system's tables: `concerts` (capacity, seats_left, keyed by a bigint) and `reservations` (a
/// bigserial ref, the fan, seats and a text state), nothing like Happening's `events` and `bookings`.
private let otherSchema = """
    CREATE TABLE concerts (concert_no bigint PRIMARY KEY, capacity int NOT NULL, seats_left int NOT NULL);
    CREATE TABLE reservations (ref bigserial PRIMARY KEY, concert bigint NOT NULL REFERENCES concerts,
                               fan text NOT NULL, seats int NOT NULL, state text NOT NULL,
                               decided_at timestamptz NOT NULL DEFAULT clock_timestamp());
    INSERT INTO concerts VALUES (7, 10, 10);
    """

/// Applies ``otherSchema`` to the database at `url`.
private func createOtherSchema(_ url: String) async throws {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("other-schema-\(TestEnvironment.uniqueSuffix()).sql").path
    try otherSchema.write(toFile: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: file) }
    let created = try await TestEnvironment.shellOffPool("psql '\(url)' -v ON_ERROR_STOP=1 -q -f '\(file)'")
    try #require(created.status == 0, "\(created.output)")
}

/// How the other system's POST /reserve behaves.
private enum OtherServer {
    /// Takes a seat in the same statement that records the reservation (`held`, or `rejected` once sold out);
    /// answers 202 with no id.
    case safe
    /// The same, answering 202 with the reservation's ref (`{"reservation":"12"}`); `GET /reservations/:ref` tells
    /// its state (`{"state":"held"}`).
    case safeWithIDs
    /// ``safeWithIDs``, but its status route tells every fan `held`, refused or not.
    case safeTellingHeld
    /// Takes a seat like ``safe`` but writes a row only for a reservation that got one (a refusal leaves none).
    case safeRefusalsLeaveNoRow
    /// Records every reservation as `held` and never refuses: oversells.
    case unsafe

    func router(_ client: PostgresClient) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("api/health") { _, _ in "ok" }
        router.post("reserve") { request, _ -> Response in
            let concert = Int(request.uri.queryParameters.get("concert") ?? "") ?? 0
            let fan = request.uri.queryParameters.get("fan") ?? ""
            let sql =
                switch self {
                case .safe, .safeWithIDs, .safeTellingHeld:
                    """
                    WITH taken AS (UPDATE concerts SET seats_left = seats_left - 1 WHERE concert_no = $1 AND seats_left >= 1 RETURNING 1)
                    INSERT INTO reservations (concert, fan, seats, state)
                    VALUES ($1, $2, 1, CASE WHEN EXISTS (SELECT 1 FROM taken) THEN 'held' ELSE 'rejected' END) RETURNING ref
                    """
                case .safeRefusalsLeaveNoRow:
                    """
                    WITH taken AS (UPDATE concerts SET seats_left = seats_left - 1 WHERE concert_no = $1 AND seats_left >= 1 RETURNING 1)
                    INSERT INTO reservations (concert, fan, seats, state) SELECT $1, $2, 1, 'held' WHERE EXISTS (SELECT 1 FROM taken) RETURNING ref
                    """
                case .unsafe:
                    """
                    WITH taken AS (UPDATE concerts SET seats_left = greatest(seats_left - 1, 0) WHERE concert_no = $1 RETURNING 1)
                    INSERT INTO reservations (concert, fan, seats, state) VALUES ($1, $2, 1, 'held') RETURNING ref
                    """
                }
            let ref: Int = try await client.query(sql, [concert, fan]).first?.decode(0) ?? 0
            let body = self == .safeWithIDs || self == .safeTellingHeld ? #"{"reservation":"\#(ref)"}"# : #"{"status":"queued"}"#
            return Response(status: .accepted, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("reservations/:ref") { _, context -> Response in
            let ref = Int(context.parameters.get("ref") ?? "") ?? 0
            let found: String? = try await client.query("SELECT state FROM reservations WHERE ref = $1", [ref]).first?.decode(0)
            guard let state = found else { return Response(status: .notFound) }
            let body = #"{"state":"\#(self == .safeTellingHeld ? "held" : state)"}"#
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        return router
    }
}

/// The oversell gate on a schema that is not ours: `scenarios/other-booking-schema.yaml` maps the ledger onto the
/// other system's tables, and the Bench runs a barrier of fans against a server the test starts on that schema.
@Suite("Bench: the ledger on another booking schema", .timeLimit(.minutes(10)))
struct MappedLedgerTests {
    /// Runs `scenarios/other-booking-schema.yaml`, changed by `edit`, against `server` on a scratch database holding
    /// ``otherSchema``; `inspect` gets the database afterwards. Returns the exit status, the output and the run's ledger.
    private func sale(
        _ server: OtherServer, edit: (String) throws -> String = { $0 }, inspect: (@Sendable (String) async throws -> Void)? = nil
    ) async throws -> (status: Int32, output: String, ledger: LedgerReport?, history: CustomerHistoryReport?) {
        try await TestEnvironment.withScratchDatabase(prefix: "otherschema") { url in
            try await createOtherSchema(url)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-otherschema-\(TestEnvironment.uniqueSuffix())").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let fans = (1...60).map { #"{"user_id":"fan-\#($0)","email":"fan-\#($0)@example.com","token":"-"}"# }.joined(separator: "\n")
            try fans.write(toFile: directory + "/fans.jsonl", atomically: true, encoding: .utf8)
            let scenario = directory + "/scenario.yaml"
            try edit(try String(contentsOfFile: "scenarios/other-booking-schema.yaml", encoding: .utf8)).write(
                toFile: scenario, atomically: true, encoding: .utf8)
            let client = PostgresClient(configuration: .init(url: url, poolSize: 4, applicationName: "other-booking-system"))
            let result = try await withHTTPTestServer(server.router(client)) { base in
                try await bench(
                    "run '\(scenario)' --target \(base) --database-url '\(url)' --out '\(directory)/out' --progress none "
                        + "--junit '\(directory)/junit.xml' --set users=60 --set fans='\(directory)/fans.jsonl'")
            }
            try await inspect?(url)
            await client.shutdown()
            let json = try FileManager.default.contentsOfDirectory(atPath: directory + "/out").first { $0.hasSuffix(".json") }
            let run = try json.map {
                try JSONDecoder().decode(BenchResult.self, from: Data(contentsOf: URL(fileURLWithPath: "\(directory)/out/\($0)"))).runs[0]
            }
            return (result.status, result.output, run?.ledger, run?.history)
        }
    }

    @Test("a safe sale on the other schema passes by count, and the report says the count-based invariants were checked")
    func safeByCount() async throws {
        let run = try await sale(.safe)
        #expect(run.status == 0, "\(run.output)")
        let ledger = try #require(run.ledger, "\(run.output)")
        #expect(ledger.method == .counts && ledger.source == "mapped: concerts / reservations")
        #expect(ledger.total_tickets == 10 && ledger.held == 10 && ledger.available_tickets == 0)
        #expect(ledger.accepted == 60 && ledger.decided == 60 && ledger.bookings == 60 && ledger.statuses == ["held": 10, "rejected": 50])
        #expect(ledger.duplicate_users == 0 && ledger.excess_bookings == 0 && ledger.phantom == nil)
        let names = (ledger.invariants ?? []).map(\.name)
        #expect(
            names == [
                "held <= total (no oversell)", "available + held = total", "as many decided bookings as 202s", "no more bookings than 202s",
                "held = expected", "one booking per user",
            ], "\(names)")
        #expect(!names.contains("every accepted (202) booking decided"), "the id-based invariants are not claimed without ids")
    }

    @Test("an overselling server on the other schema fails the gate: oversold, tickets not conserved, one fan twice")
    func unsafeByCount() async throws {
        let run = try await sale(
            .unsafe,
            inspect: { url in
                // A phantom write outside the API: one fan holding two reservations, and a reservation no 202 answered.
                let wrote = try await TestEnvironment.shellOffPool(
                    "psql '\(url)' -qc \"INSERT INTO reservations (concert, fan, seats, state) VALUES (7, 'fan-1', 1, 'held')\"")
                try #require(wrote.status == 0, "\(wrote.output)")
                let again = try await bench("check-ledger --event 7 --scenario scenarios/other-booking-schema.yaml --database-url '\(url)' --json")
                #expect(again.status == 1, "\(again.output)")
                #expect(again.output.contains("users hold more than one booking"), "\(again.output)")
            })
        #expect(run.status == 1, "\(run.output)")
        let ledger = try #require(run.ledger, "\(run.output)")
        #expect(ledger.held == 60 && ledger.oversold == 50 && ledger.conservation_error == 50, "\(ledger)")
        #expect(ledger.violations.contains { $0.hasPrefix("OVERSOLD by 50 tickets") }, "\(ledger.violations)")
        #expect(run.output.contains("OVERSOLD by 50"), "\(run.output)")
    }

    @Test("with the reservation's id in the 202 and the id column mapped, accepted bookings are followed one by one")
    func safeByID() async throws {
        let run = try await sale(.safeWithIDs) { text in
            text.replacingOccurrences(of: "    expect: [202]\n", with: "    expect: [202]\n    capture: reservation\n")
                .replacingOccurrences(of: "      table: reservations\n", with: "      table: reservations\n      id: ref\n")
        }
        #expect(run.status == 0, "\(run.output)")
        let ledger = try #require(run.ledger, "\(run.output)")
        #expect(ledger.method == .ids && ledger.accepted == 60 && ledger.decided == 60 && ledger.undecided == 0 && ledger.phantom == 0, "\(ledger)")
        #expect((ledger.invariants ?? []).map(\.name).contains("no booking the API never accepted"))
    }

    /// The scenario with ids followed and the history checked on the other system: its status route, its words.
    private static func withHistory(_ text: String) -> String {
        text.replacingOccurrences(of: "    expect: [202]\n", with: "    expect: [202]\n    capture: reservation\n")
            .replacingOccurrences(of: "      table: reservations\n", with: "      table: reservations\n      id: ref\n      decided_at: decided_at\n")
            .replacingOccurrences(
                of: "thresholds:\n", with: "history: { status: \"/reservations/{id}\", status_field: state, sold_out: [rejected] }\nthresholds:\n")
    }

    @Test(
        "the history on another schema: each fan's reservation followed on its status route, in its words, against its row; a route that tells everyone 'held' is caught"
    )
    func historyOnTheirSchema() async throws {
        let run = try await sale(.safeWithIDs, edit: Self.withHistory)
        #expect(run.status == 0, "\(run.output)")
        let history = try #require(run.history, "\(run.output)")
        #expect(history.followed == 60 && history.told == ["confirmed": 10, "failed": 50], "\(history)")
        let checks = Dictionary(uniqueKeysWithValues: history.checks.map { ($0.metric, $0) })
        #expect(checks["told_mismatch"]?.checked == 60 && checks["told_mismatch"]?.violations == 0, "\(history.checks)")
        #expect(checks["false_sold_out"]?.checked == 50 && checks["false_sold_out"]?.violations == 0, "\(history.checks)")

        let lying = try await sale(.safeTellingHeld, edit: Self.withHistory)
        #expect(lying.status == 1, "\(lying.output)")
        let told = try #require(lying.history?.checks.first { $0.metric == "told_mismatch" }, "\(lying.output)")
        #expect(told.violations == 50 && told.witnesses.first?.what.contains("told confirmed, but its row is failed (sold_out)") == true, "\(told)")
    }

    @Test("where a refusal leaves no row, the ledger waits for the counts to settle and checks that nothing is left in flight")
    func refusalsLeaveNoRow() async throws {
        let run = try await sale(.safeRefusalsLeaveNoRow) { $0.replacingOccurrences(of: "      refused: [rejected]\n", with: "") }
        #expect(run.status == 0, "\(run.output)")
        let ledger = try #require(run.ledger, "\(run.output)")
        #expect(ledger.method == .counts && ledger.accepted == 60 && ledger.bookings == 10 && ledger.held == 10 && ledger.undecided == 0, "\(ledger)")
        let names = (ledger.invariants ?? []).map(\.name)
        #expect(names.contains("no booking left in flight") && !names.contains("as many decided bookings as 202s"), "\(names)")
    }

    /// The scenario with its `schema:` block replaced by `sql:` (the same figures from one query).
    private static func withSQLLedger(_ text: String, decided: String = "count(r.ref) AS decided") throws -> String {
        let schemaBlock = try #require(text.range(of: "  schema:\n")).lowerBound..<(try #require(text.range(of: "thresholds:\n")).lowerBound)
        return text.replacingCharacters(
            in: schemaBlock,
            with: """
                  sql: >-
                    SELECT c.capacity AS total, c.seats_left AS available,
                           coalesce(sum(r.seats) FILTER (WHERE r.state = 'held'), 0) AS held, count(r.ref) AS bookings, \(decided),
                           (SELECT count(*) FROM (SELECT 1 FROM reservations WHERE concert = $1::bigint AND state = 'held'
                                                  GROUP BY fan HAVING count(*) > 1) d) AS duplicate_users
                    FROM concerts c LEFT JOIN reservations r ON r.concert = c.concert_no
                    WHERE c.concert_no = $1::bigint GROUP BY c.concert_no

                """)
    }

    @Test("or the ledger is one SQL query the scenario gives: the same figures, the same verdicts; a query missing a column is refused")
    func sqlLedger() async throws {
        let safe = try await sale(.safe) { try Self.withSQLLedger($0) }
        #expect(safe.status == 0, "\(safe.output)")
        let ledger = try #require(safe.ledger, "\(safe.output)")
        #expect(ledger.source == "the scenario's SQL" && ledger.method == .counts && ledger.held == 10 && ledger.decided == 60, "\(ledger)")
        #expect(ledger.duplicate_users == 0 && ledger.statuses == nil)
        let unsafe = try await sale(.unsafe) { try Self.withSQLLedger($0) }
        #expect(unsafe.status == 1 && unsafe.ledger?.oversold == 50, "\(unsafe.output)")
        let refused = try await sale(.safe) { try Self.withSQLLedger($0, decided: "count(r.ref)") }
        #expect(refused.status == 2 && refused.output.contains("ledger.sql must yield one row with the columns total, available, held"), "\(refused.output)")
        #expect(!refused.output.contains("rush:"), "refused before the load: \(refused.output)")
    }

    @Test("a mapping that names a missing column, or our schema on theirs, is a usage error naming what exists")
    func wrongMapping() async throws {
        try await TestEnvironment.withScratchDatabase(prefix: "otherschema") { url in
            try await createOtherSchema(url)
            let ours = try await bench("check-ledger --event 7 --database-url '\(url)'")
            #expect(ours.status == 2, "\(ours.output)")
            #expect(ours.output.contains("is not an event id"), "\(ours.output)")
            let oursByUUID = try await bench("check-ledger --event \(UUID().uuidString) --database-url '\(url)'")
            #expect(oursByUUID.status == 2 && oursByUUID.output.contains("table events does not exist"), "\(oursByUUID.output)")
        }
        let wrong = try await sale(.safe) { $0.replacingOccurrences(of: "quantity: seats", with: "quantity: tickets") }
        #expect(wrong.status == 2, "\(wrong.output)")
        #expect(wrong.output.contains("table reservations has no column tickets (its columns: ref, concert, fan, seats, state, decided_at)"), "\(wrong.output)")
        #expect(!wrong.output.contains("undefined_column") && !wrong.output.contains("rush:"), "\(wrong.output)")
    }
}
