import Foundation
import HappeningCommandLine
import HappeningPostgres
import HappeningSystem

/// Where a booking system keeps what the ledger reads: the event's total and available tickets, and its bookings
/// with their status and size. Happening's own schema is the default (``happening``); a scenario points the ledger at
/// another implementation's tables with a `ledger.schema` block. Every name is a column or table, never SQL: the
/// mapping is checked against the database's catalog first, so a wrong name is a usage error naming the columns the
/// table has, not an `undefined_column` from the middle of a check.
package struct LedgerSchema: Codable, Sendable, Equatable {
    /// The table of events (or concerts, shows …).
    struct Events: Codable, Sendable, Equatable {
        /// A table, optionally `schema.table`.
        var table: String
        /// The column the scenario's `event` value matches (any type: uuid, integer, text).
        var key: String
        /// Tickets the event has in all.
        var total: String
        /// Tickets still on sale.
        var available: String
    }

    /// The table of bookings (reservations, orders …).
    struct Bookings: Codable, Sendable, Equatable {
        var table: String
        /// The column naming the booking's event (compared with the events table's key).
        var event: String
        /// The column the 202's captured id names; without it (or when the 202 carries no id) the ledger checks
        /// the count-based invariants only.
        var id: String?
        /// Tickets per booking; without it each booking is one ticket.
        var quantity: String?
        /// The status column (any type; compared as text).
        var status: String
        /// Statuses that hold tickets (ours: `pending`, `confirmed`).
        var holding: [String]
        /// Statuses of bookings refused after they were accepted (ours: `failed`). Leave it out when a refusal
        /// leaves no row: then "every 202 decided" cannot be told from the counts and is not checked.
        var refused: [String]?
        /// Decided statuses that hold nothing any more (ours: `cancelled`).
        var released: [String]?
        /// A column qualifying the status in the report (ours: `failure_reason`, giving `failed/sold_out`).
        var reason: String?
        /// The booking's user, for "one booking per user" and idempotency keys.
        var user: String?
        /// At most one ticket-holding booking per user and event is the rule.
        var one_per_user: Bool?
        /// The idempotency key column: each (user, key) booked once.
        var idempotency_key: String?
        /// When the booking was decided (for the decision latency; needs `id`), and last changed: the history's
        /// decision stamp.
        var decided_at: String?
        /// When the booking was asked for (the history counts a claim from it when the run did not see the request).
        var requested_at: String?

        /// Every status that means the booking was decided; any other status is still in flight.
        var decidedStatuses: [String] { holding + (refused ?? []) + (released ?? []) }
    }

    var events: Events
    var bookings: Bookings

    /// Happening's own tables (`init.sql`).
    package static let happening = LedgerSchema(
        events: Events(table: "events", key: "id", total: "total_tickets", available: "available_tickets"),
        bookings: Bookings(
            table: "bookings", event: "event_id", id: "id", quantity: "ticket_count", status: "status", holding: ["pending", "confirmed"],
            refused: ["failed"], released: ["cancelled"], reason: "failure_reason", user: "user_id", one_per_user: false,
            idempotency_key: "idempotency_key", decided_at: "updated_at", requested_at: "booking_date"))
}

/// Where the ledger's figures come from: a table mapping (ours by default) or one SQL query the scenario gives.
package enum LedgerSource: Sendable, Equatable {
    case mapped(LedgerSchema)
    /// A query with `$1` = the event (as text) yielding one row with the columns ``LedgerSQL/columns``.
    case sql(String)

    /// How the report names it.
    var label: String {
        switch self {
        case .mapped(let schema) where schema == .happening: "Happening's schema"
        case .mapped(let schema): "mapped: \(schema.events.table) / \(schema.bookings.table)"
        case .sql: "the scenario's SQL"
        }
    }
}

/// The figures one ledger read yields, whatever the source.
struct LedgerFigures: Sendable {
    var total: Int
    var available: Int
    var held: Int
    /// Booking rows of the event, decided or not.
    var bookings: Int
    /// Rows in a decided status.
    var decided: Int
    /// Rows by status label (nil from SQL).
    var statuses: [String: Int]?
    /// Users holding more than one booking, when one per user is the rule.
    var duplicateUsers: Int?
    /// (user, idempotency key) pairs booked more than once, when the schema has keys.
    var duplicateKeys: Int?
}

/// The mapping checked against the database: quoted names and each key column's type, so a parameter sent as
/// text is cast to the column's own type and its index is used.
struct ResolvedLedgerSchema: Sendable {
    let schema: LedgerSchema
    let events: String
    let bookings: String
    /// `format_type` of the events key and of the bookings id (from the catalog, not the scenario).
    let keyType: String
    /// The bookings' event column's type (usually the key's).
    let eventRefType: String
    let idType: String?

    /// Looks every named column up in `pg_attribute`; a missing table or column is a usage error.
    static func resolve(_ schema: LedgerSchema, on client: PostgresClient) async throws -> ResolvedLedgerSchema {
        let e = schema.events
        let b = schema.bookings
        let eventTypes = try await columnTypes(e.table, [e.key, e.total, e.available], on: client)
        let bookingColumns = [b.event, b.status] + [b.id, b.quantity, b.reason, b.user, b.idempotency_key, b.decided_at, b.requested_at].compactMap { $0 }
        let bookingTypes = try await columnTypes(b.table, bookingColumns, on: client)
        if schema.bookings.one_per_user == true, b.user == nil { throw UsageError("ledger.schema.bookings: one_per_user needs the user column") }
        if b.holding.isEmpty { throw UsageError("ledger.schema.bookings.holding: name at least one status that holds tickets") }
        return ResolvedLedgerSchema(
            schema: schema, events: quotedTable(e.table), bookings: quotedTable(b.table), keyType: eventTypes[e.key]!,
            eventRefType: bookingTypes[b.event]!, idType: b.id.map { bookingTypes[$0]! })
    }

    /// The types of `columns` in `table`, or a usage error naming what the table has.
    private static func columnTypes(_ table: String, _ columns: [String], on client: PostgresClient) async throws -> [String: String] {
        let rows = try await client.query(
            """
            SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
            WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
            """, [quotedTable(table)])
        guard !rows.isEmpty else { throw UsageError("ledger.schema: table \(table) does not exist in this database") }
        var types: [String: String] = [:]
        for row in rows { types[try row.decode(0)] = try row.decode(1) }
        for column in columns where types[column] == nil {
            throw UsageError(
                "ledger.schema: table \(table) has no column \(column) (its columns: \(rows.compactMap { try? $0.decode(0) as String }.joined(separator: ", ")))"
            )
        }
        return types
    }

    /// `"name"` with quotes doubled: the one way a mapped name enters SQL.
    static func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    /// `schema.table` quoted part by part.
    static func quotedTable(_ name: String) -> String { name.split(separator: ".", maxSplits: 1).map { quoted(String($0)) }.joined(separator: ".") }

    func column(_ name: String) -> String { Self.quoted(name) }
}
