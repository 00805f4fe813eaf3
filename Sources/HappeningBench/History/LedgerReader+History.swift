import HappeningCommandLine
import HappeningPostgres
import HappeningSystem

/// The history's reads of the booking rows, through the ledger's mapping (Happening's schema, or another system's).
extension LedgerReader {
    /// The event's total and every booking row of it, in the history's words (see ``bookingRows(where:_:soldOut:)``).
    func saleRows(event: String, soldOut: Set<String>) async throws -> (total: Int, rows: [BookingRow]) {
        let r = try historySchema()
        let e = r.schema.events
        let totals = try await client.query("SELECT (\(r.column(e.total)))::int8 FROM \(r.events) WHERE \(r.column(e.key)) = $1::\(r.keyType)", [event])
        guard let total = totals.first else { throw UsageError("history: event \(event) does not exist in \(e.table)") }
        let rows = try await bookingRows(where: "\(r.column(r.schema.bookings.event)) = $1::\(r.eventRefType)", [event], soldOut: soldOut)
        return (try total.decode(0), rows)
    }

    /// The rows of the bookings `ids` (of any event; those that exist).
    func bookingRows(ids: [String], soldOut: Set<String>) async throws -> [BookingRow] {
        let r = try historySchema()
        guard !ids.isEmpty, let id = r.schema.bookings.id, let idType = r.idType else { return [] }
        return try await bookingRows(where: "\(r.column(id)) = ANY($1::\(idType)[])", [PostgresArray(ids)], soldOut: soldOut)
    }

    /// The mapping, when it can time the rows: the history needs each booking's id and decision stamp.
    private func historySchema() throws -> ResolvedLedgerSchema {
        guard case .mapped(let r) = source else { throw UsageError("history: needs a table mapping (ledger.schema), not ledger.sql") }
        guard r.schema.bookings.id != nil, r.schema.bookings.decided_at != nil else {
            throw UsageError(
                "history: the mapping must name the bookings' id and decided_at columns (what each customer was told is checked row by row, in time)")
        }
        return r
    }

    /// Rows matching `condition`, statuses put in the history's words: a holding status is `confirmed` (`pending`
    /// kept), a refused one `failed`, a released one `cancelled`, any other `undecided`. A refusal whose reason — or,
    /// without a reason column, whose status — is one of `soldOut` gets the reason `sold_out`.
    private func bookingRows(where condition: String, _ bindings: [any PostgresEncodable], soldOut: Set<String>) async throws -> [BookingRow] {
        let r = try historySchema()
        let b = r.schema.bookings
        let micros = { (column: String) in "coalesce((extract(epoch FROM \(r.column(column))) * 1000000)::int8, 0)" }
        let decided = micros(b.decided_at!)
        let columns = [
            "(\(r.column(b.id!)))::text", b.user.map { "(\(r.column($0)))::text" } ?? "''", "(\(r.column(b.status)))::text",
            b.reason.map { "(\(r.column($0)))::text" } ?? "NULL::text", b.quantity.map { "(\(r.column($0)))::int8" } ?? "1::int8",
            b.requested_at.map(micros) ?? decided, decided,
        ]
        let (holding, refused, released) = (Set(b.holding), Set(b.refused ?? []), Set(b.released ?? []))
        return try await client.query("SELECT \(columns.joined(separator: ", ")) FROM \(r.bookings) WHERE \(condition)", bindings).map { row in
            let status: String = try row.decode(2)
            let reason = try row.decode(3, as: String?.self)
            let word =
                holding.contains(status)
                ? (status == "pending" ? "pending" : "confirmed")
                : refused.contains(status) ? "failed" : released.contains(status) ? "cancelled" : "undecided"
            let soldOutRefusal = word == "failed" && (b.reason == nil ? soldOut.contains(status) : reason.map(soldOut.contains) ?? false)
            return BookingRow(
                id: (try row.decode(0, as: String.self)).lowercased(), user_id: try row.decode(1), status: word,
                reason: soldOutRefusal ? "sold_out" : reason, tickets: Int(try row.decode(4, as: Int64.self)), requested_micros: try row.decode(5),
                updated_micros: try row.decode(6))
        }
    }
}
