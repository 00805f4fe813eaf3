import Foundation
import HappeningCommandLine
import HappeningPostgres
import HappeningSystem

/// The ledger's SQL for one source: a mapped schema (ours by default) or the scenario's query. Names come from the
/// catalog-checked mapping (quoted), values are always parameters.
struct LedgerReader: Sendable {
    enum Source: Sendable {
        case mapped(ResolvedLedgerSchema)
        case sql(String)
    }

    let client: PostgresClient
    let source: Source

    /// The columns a `ledger.sql` query yields (NULL where a figure is unknown: `decided`, `duplicate_users`).
    static let sqlColumns = ["total", "available", "held", "bookings", "decided", "duplicate_users"]

    static func make(_ source: LedgerSource, client: PostgresClient) async throws -> LedgerReader {
        switch source {
        case .mapped(let schema): LedgerReader(client: client, source: .mapped(try await ResolvedLedgerSchema.resolve(schema, on: client)))
        case .sql(let sql): LedgerReader(client: client, source: .sql(sql))
        }
    }

    /// The schema names the booking id a 202 captures, so accepted bookings can be followed one by one.
    var followsIDs: Bool {
        if case .mapped(let resolved) = source { return resolved.idType != nil }
        return false
    }

    /// A refused booking leaves a row, so "every 202 decided" can be told from the counts.
    var recordsRefusals: Bool {
        if case .mapped(let resolved) = source { return !(resolved.schema.bookings.refused ?? []).isEmpty }
        return true
    }

    /// Captured ids as the id column compares them: UUIDs checked and lowercased, others as captured.
    func normalized(_ values: [String]) -> [String] {
        guard case .mapped(let resolved) = source, resolved.idType == "uuid" else { return values }
        return values.compactMap { UUID(uuidString: $0).map { $0.uuidString.lowercased() } }
    }

    /// Totals and counts for one event.
    func figures(event: String) async throws -> LedgerFigures {
        switch source {
        case .mapped(let resolved): try await mappedFigures(resolved, event: event)
        case .sql(let sql): try await sqlFigures(sql, event: event)
        }
    }

    private func mappedFigures(_ r: ResolvedLedgerSchema, event: String) async throws -> LedgerFigures {
        let e = r.schema.events
        let b = r.schema.bookings
        let eventRows = try await client.query(
            "SELECT (\(r.column(e.total)))::int8, (\(r.column(e.available)))::int8 FROM \(r.events) WHERE \(r.column(e.key)) = $1::\(r.keyType)", [event])
        guard let eventRow = eventRows.first else { throw UsageError("ledger: event \(event) does not exist in \(e.table)") }
        let ofEvent = "\(r.column(b.event)) = $1::\(r.eventRefType)"
        let reason = b.reason.map { "(\(r.column($0)))::text" } ?? "NULL::text"
        let tickets = b.quantity.map { "coalesce(sum(\(r.column($0))), 0)::int8" } ?? "count(*)"
        var figures = LedgerFigures(total: try eventRow.decode(0), available: try eventRow.decode(1), held: 0, bookings: 0, decided: 0, statuses: [:])
        let holding = Set(b.holding)
        let decided = Set(b.decidedStatuses)
        for row in try await client.query(
            "SELECT (\(r.column(b.status)))::text, \(reason), count(*), \(tickets) FROM \(r.bookings) WHERE \(ofEvent) GROUP BY 1, 2", [event])
        {
            let status: String = try row.decode(0)
            let detail: String? = try row.decode(1)
            let (rows, held): (Int, Int) = (try row.decode(2), try row.decode(3))
            figures.statuses![detail.map { "\(status)/\($0)" } ?? status, default: 0] += rows
            figures.bookings += rows
            if decided.contains(status) { figures.decided += rows }
            if holding.contains(status) { figures.held += held }
        }
        if b.one_per_user == true, let user = b.user {
            figures.duplicateUsers = try await client.query(
                "SELECT count(*) FROM (SELECT 1 FROM \(r.bookings) WHERE \(ofEvent) AND (\(r.column(b.status)))::text = ANY($2::text[]) GROUP BY \(r.column(user)) HAVING count(*) > 1) d",
                [event, PostgresArray(b.holding)])[0].decode(0)
        }
        if let key = b.idempotency_key {
            let group = ([b.user].compactMap { $0 } + [key]).map(r.column).joined(separator: ", ")
            figures.duplicateKeys = try await client.query(
                "SELECT count(*) FROM (SELECT 1 FROM \(r.bookings) WHERE \(ofEvent) AND \(r.column(key)) IS NOT NULL GROUP BY \(group) HAVING count(*) > 1) d",
                [event])[0].decode(0)
        }
        return figures
    }

    private func sqlFigures(_ sql: String, event: String) async throws -> LedgerFigures {
        let columns = Self.sqlColumns.map { "(\($0))::int8" }.joined(separator: ", ")
        let rows: PostgresRows
        do { rows = try await client.query("SELECT \(columns) FROM (\(sql)) AS ledger", [event]) } catch let error as PostgresError where error.kind == .server
        {
            throw UsageError(
                "ledger.sql must yield one row with the columns \(Self.sqlColumns.joined(separator: ", ")) (NULL where unknown) for $1 = the event: "
                    + (error.serverMessage ?? "\(error)"))
        }
        guard let row = rows.first else { throw UsageError("ledger.sql returned no row for event \(event)") }
        let bookings: Int = try row.decode(3)
        return LedgerFigures(
            total: try row.decode(0), available: try row.decode(1), held: try row.decode(2), bookings: bookings,
            decided: (try row.decode(4) as Int?) ?? bookings, statuses: nil, duplicateUsers: try row.decode(5))
    }

    /// Tickets held per user of the event (lowercase user id → tickets); nil when the schema names no user column.
    func heldByUser(event: String) async throws -> [String: Int]? {
        guard case .mapped(let r) = source, let user = r.schema.bookings.user else { return nil }
        let b = r.schema.bookings
        let tickets = b.quantity.map { "coalesce(sum(\(r.column($0))), 0)::int8" } ?? "count(*)"
        var held: [String: Int] = [:]
        for row in try await client.query(
            """
            SELECT lower((\(r.column(user)))::text), \(tickets) FROM \(r.bookings)
            WHERE \(r.column(b.event)) = $1::\(r.eventRefType) AND (\(r.column(b.status)))::text = ANY($2::text[]) GROUP BY 1
            """, [event, PostgresArray(b.holding)])
        {
            held[try row.decode(0)] = try row.decode(1)
        }
        return held
    }

    /// How many of `ids` have a row in a decided status.
    func decided(ids: [String]) async throws -> Int {
        guard case .mapped(let r) = source, let id = r.schema.bookings.id, let idType = r.idType, !ids.isEmpty else { return 0 }
        return try await client.query(
            "SELECT count(*) FROM \(r.bookings) WHERE \(r.column(id)) = ANY($1::\(idType)[]) AND (\(r.column(r.schema.bookings.status)))::text = ANY($2::text[])",
            [PostgresArray(ids), PostgresArray(r.schema.bookings.decidedStatuses)])[0].decode(0)
    }

    /// Bookings of the event that are none of `ids` (writes the API never accepted).
    func phantom(event: String, ids: [String]) async throws -> Int {
        guard case .mapped(let r) = source, let id = r.schema.bookings.id, let idType = r.idType else { return 0 }
        return try await client.query(
            "SELECT count(*) FROM \(r.bookings) WHERE \(r.column(r.schema.bookings.event)) = $1::\(r.eventRefType) AND NOT (\(r.column(id)) = ANY($2::\(idType)[]))",
            [event, PostgresArray(ids)])[0].decode(0)
    }

    /// Each of `ids` with its decision time (µs since 1970, PostgreSQL's clock), when the schema has one.
    func decisionTimes(ids: [String]) async throws -> [(id: String, micros: Int64)] {
        guard case .mapped(let r) = source, let id = r.schema.bookings.id, let idType = r.idType, let at = r.schema.bookings.decided_at, !ids.isEmpty
        else { return [] }
        return try await client.query(
            "SELECT (\(r.column(id)))::text, (extract(epoch FROM \(r.column(at))) * 1000000)::int8 FROM \(r.bookings) WHERE \(r.column(id)) = ANY($1::\(idType)[]) AND \(r.column(at)) IS NOT NULL",
            [PostgresArray(ids)]
        ).map { (try $0.decode(0), try $0.decode(1)) }
    }
}
