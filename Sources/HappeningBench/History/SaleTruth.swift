import Foundation
import HappeningCommandLine
import HappeningPostgres
import HappeningSystem

/// One booking row of a sale's event, as the history checks read it.
struct BookingRow: Sendable, Equatable {
    var id: String
    var user_id: String
    /// `pending`, `confirmed`, `cancelled` or `failed`.
    var status: String
    /// A failed booking's reason (`sold_out` …).
    var reason: String?
    var tickets: Int
    /// When the booking was asked for (`booking_date`) and when its row last changed (`updated_at`: the decision,
    /// or a cancellation), µs since 1970.
    var requested_micros: Int64
    var updated_micros: Int64

    /// Holds tickets now, or did until it was cancelled.
    var tookTickets: Bool { status == "confirmed" || status == "pending" || status == "cancelled" }
    var holdsTickets: Bool { status == "confirmed" || status == "pending" }
}

/// What PostgreSQL says of a sale's event after the run: its total and every booking row.
package struct SaleTruth: Sendable {
    var event: String
    package var total: Int
    var rows: [BookingRow]

    /// The event's tickets left over time, from the rows (a cancelled row held its tickets from its request time, the
    /// earliest it can have, until its cancellation).
    var availability: AvailabilityTruth {
        AvailabilityTruth(
            total: total,
            bookings: rows.filter(\.tookTickets).map { row in
                row.status == "cancelled"
                    ? (decided: row.requested_micros, tickets: row.tickets, cancelled: row.updated_micros)
                    : (decided: row.updated_micros, tickets: row.tickets, cancelled: nil)
            })
    }

    /// The rows of the bookings `ids` (of any event; those that exist), for outcomes told of other events' bookings.
    static func rows(ids: [String], source: LedgerSource = .mapped(.happening), soldOut: Set<String> = ["sold_out"], databaseURL: String)
        async throws -> [BookingRow]
    {
        guard !ids.isEmpty else { return [] }
        return try await withClient(databaseURL, check: "history") { client in
            let reader = try await LedgerReader.make(source, client: client)
            return try await reader.bookingRows(ids: reader.normalized(ids), soldOut: soldOut)
        }
    }

    /// Reads the event's total and booking rows through `source`'s mapping (Happening's schema by default); `soldOut`
    /// names the refusals that mean sold out; `check` names the check in errors.
    static func read(
        event: String, source: LedgerSource = .mapped(.happening), soldOut: Set<String> = ["sold_out"], databaseURL: String, check: String = "history"
    ) async throws -> SaleTruth {
        var event = event
        if source == .mapped(.happening) {
            guard let id = UUID(uuidString: event) else { throw UsageError("\(check): '\(event)' is not an event id (UUID)") }
            event = id.uuidString.lowercased()
        }
        return try await withClient(databaseURL, check: check) { [event] client in
            let (total, rows) = try await LedgerReader.make(source, client: client).saleRows(event: event, soldOut: soldOut)
            return SaleTruth(event: event, total: total, rows: rows)
        }
    }

    /// Each of `events`' tickets left over time from `since` (µs since 1970) on, rebuilt backwards from its
    /// `available_tickets` now through the booking rows that changed since: a row that holds tickets took them at
    /// its `updated_at` (its decision), a cancelled one gave them back at its `updated_at` and, asked for after
    /// `since`, held them from its request. Ids that are not UUIDs or name no event are left out. (A hold paid after
    /// `since` counts from the payment: a run that pays for holds made before it may see those events flagged.)
    static func availability(events: [String], since: Int64, databaseURL: String) async throws -> [String: AvailabilityTruth] {
        let uuids = Array(Set(events.compactMap(UUID.init(uuidString:)).map { $0.uuidString.lowercased() }))
        guard !uuids.isEmpty else { return [:] }
        return try await withClient(databaseURL, check: "history") { client in
            var now: [String: Int] = [:]
            for row in try await client.query("SELECT id::text, available_tickets FROM events WHERE id = ANY($1::uuid[])", [PostgresArray(uuids)]) {
                now[try row.decode(0, as: String.self)] = try row.decode(1, as: Int.self)
            }
            var changes: [String: [AvailabilityTruth.Change]] = [:]
            let rows = try await client.query(
                """
                SELECT event_id::text, status::text, ticket_count, (extract(epoch FROM booking_date) * 1000000)::int8,
                       (extract(epoch FROM updated_at) * 1000000)::int8
                FROM bookings
                WHERE event_id = ANY($1::uuid[]) AND status IN ('confirmed', 'pending', 'cancelled')
                  AND updated_at >= to_timestamp($2::float8 / 1000000)
                """, [PostgresArray(uuids), Double(since)])
            for row in rows {
                let (event, status, tickets): (String, String, Int) = (try row.decode(0), try row.decode(1), try row.decode(2))
                let (requested, updated): (Int64, Int64) = (try row.decode(3), try row.decode(4))
                if status == "cancelled" {
                    changes[event, default: []].append(.init(micros: updated, delta: tickets))
                    if requested >= since { changes[event, default: []].append(.init(micros: requested, delta: -tickets)) }
                } else {
                    changes[event, default: []].append(.init(micros: updated, delta: -tickets))
                }
            }
            return now.reduce(into: [String: AvailabilityTruth]()) { truths, entry in
                let moves = changes[entry.key] ?? []
                truths[entry.key] = AvailabilityTruth(total: entry.value - moves.reduce(0) { $0 + $1.delta }, changes: moves)
            }
        }
    }

    /// Runs `body` on a one-connection client, shut down after; database errors become a ``UsageError`` naming `check`.
    private static func withClient<T: Sendable>(_ databaseURL: String, check: String, _ body: (PostgresClient) async throws -> T) async throws -> T {
        let client = PostgresClient(configuration: .init(url: databaseURL, poolSize: 1, applicationName: "happening-bench-\(check)"))
        do {
            let value = try await body(client)
            await client.shutdown()
            return value
        } catch let error as UsageError {
            await client.shutdown()
            throw error
        } catch {
            await client.shutdown()
            throw UsageError("\(check): cannot read PostgreSQL at \(Redact.url(databaseURL)) (\(error))")
        }
    }
}
