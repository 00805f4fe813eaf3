import Foundation
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
struct SaleTruth: Sendable {
    var event: String
    var total: Int
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
    static func rows(ids: [String], databaseURL: String) async throws -> [BookingRow] {
        let uuids = ids.compactMap(UUID.init(uuidString:)).map(\.uuidString)
        guard !uuids.isEmpty else { return [] }
        let client = PostgresClient(configuration: .init(url: databaseURL, poolSize: 1, applicationName: "happening-bench-history"))
        do {
            let bookings = try await client.query("\(columns) WHERE id = ANY($1::uuid[])", [PostgresArray(uuids)]).map(bookingRow)
            await client.shutdown()
            return bookings
        } catch {
            await client.shutdown()
            throw UsageError("history: cannot read PostgreSQL at \(Redact.url(databaseURL)) (\(error))")
        }
    }

    private static let columns = """
        SELECT id::text, user_id::text, status::text, failure_reason::text, ticket_count,
               (extract(epoch FROM booking_date) * 1000000)::int8, (extract(epoch FROM updated_at) * 1000000)::int8
        FROM bookings
        """

    private static func bookingRow(_ row: PostgresRow) throws -> BookingRow {
        BookingRow(
            id: try row.decode(0), user_id: try row.decode(1), status: try row.decode(2), reason: try row.decode(3, as: String?.self),
            tickets: try row.decode(4), requested_micros: try row.decode(5), updated_micros: try row.decode(6))
    }

    /// Reads the event's total and booking rows (Happening's schema); `check` names the check in errors.
    static func read(event: String, databaseURL: String, check: String = "history") async throws -> SaleTruth {
        guard let eventID = UUID(uuidString: event) else { throw UsageError("\(check): '\(event)' is not an event id (UUID)") }
        let client = PostgresClient(configuration: .init(url: databaseURL, poolSize: 1, applicationName: "happening-bench-\(check)"))
        do {
            guard let row = try await client.query("SELECT total_tickets FROM events WHERE id = $1", [eventID]).first else {
                throw UsageError("\(check): event \(event) does not exist")
            }
            let total: Int = try row.decode(0)
            let bookings = try await client.query("\(columns) WHERE event_id = $1", [eventID]).map(bookingRow)
            await client.shutdown()
            return SaleTruth(event: eventID.uuidString.lowercased(), total: total, rows: bookings)
        } catch let error as UsageError {
            await client.shutdown()
            throw error
        } catch {
            await client.shutdown()
            throw UsageError("\(check): cannot read PostgreSQL at \(Redact.url(databaseURL)) (\(error))")
        }
    }
}
