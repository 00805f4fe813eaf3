import EventAvailability
import Foundation
import HappeningModel
import HappeningPostgres
import Logging

/// Bookings in PostgreSQL (the worker creates them; the API reads them and cancels pending holds).
struct BookingRepository: Sendable {
    let postgres: PostgresClient
    /// Where a cancelled hold's tickets go back (and are published).
    let ticketsLeft: TicketsLeft

    /// A booking as `GET /api/bookings/:id` returns it.
    struct Booking: Codable, Sendable {
        @LowercaseID var id: UUID
        @LowercaseID var user_id: UUID
        @LowercaseID var event_id: UUID
        var status: BookingStatus
        var ticket_count: Int
        var total_amount: String
        var failure_reason: String?
        var hold_expires_at: Date?
        var booking_date: Date
    }

    func find(_ id: UUID) async throws -> Booking? {
        let rows = try await postgres.query(
            """
            SELECT id, user_id, event_id, status::text, ticket_count, total_amount::text, failure_reason::text, hold_expires_at, booking_date
            FROM bookings WHERE id = $1
            """, [id])
        return try rows.first.map { row in
            Booking(
                id: try row.decode(0), user_id: try row.decode(1),
                event_id: try row.decode(2), status: try row.decode(3), ticket_count: try row.decode(4),
                total_amount: try row.decode(5), failure_reason: try row.decode(6, as: String?.self), hold_expires_at: try row.decode(7, as: Date?.self),
                booking_date: try row.decode(8))
        }
    }

    /// One row of `my-bookings` (the original's keys).
    struct MyBooking: Codable, Sendable {
        @LowercaseID var id: UUID
        var status: BookingStatus
        var ticket_count: Int
        var total_amount: String
        var failure_reason: String?
        var hold_expires_at: Date?
        @LowercaseID var event_id: UUID
        var event_title: String
        var event_date: Date
        var image_url: String?
        var category: String
        var event_description: String?
        /// The booking's payment as one word (the original's key): created, captured, failed, refund_pending or refunded.
        var payment_status: String?
    }

    func mine(_ user: UUID, page: PageRequest) async throws -> [MyBooking] {
        try await postgres.query(
            """
            SELECT b.id, b.status::text, b.ticket_count, b.total_amount::text, b.failure_reason::text, b.hold_expires_at,
                   e.id, e.title, e.date_time, e.image_url, e.category::text, e.description, p.status
            FROM bookings b JOIN events e ON e.id = b.event_id
            LEFT JOIN LATERAL (
                SELECT CASE WHEN refund_status = 'processed' THEN 'refunded' WHEN refund_status IS NOT NULL THEN 'refund_pending'
                            ELSE status::text END AS status, refund_id
                FROM payments WHERE booking_id = b.id ORDER BY (status = 'captured') DESC, created_at DESC LIMIT 1) p ON true
            WHERE b.user_id = $1 ORDER BY e.date_time DESC, b.id LIMIT $2 OFFSET $3
            """, [user, page.limit + 1, page.offset]
        ).map { row in
            MyBooking(
                id: try row.decode(0), status: try row.decode(1), ticket_count: try row.decode(2),
                total_amount: try row.decode(3), failure_reason: try row.decode(4, as: String?.self), hold_expires_at: try row.decode(5, as: Date?.self),
                event_id: try row.decode(6), event_title: try row.decode(7), event_date: try row.decode(8),
                image_url: try row.decode(9, as: String?.self), category: try row.decode(10), event_description: try row.decode(11, as: String?.self),
                payment_status: try row.decode(12, as: String?.self))
        }
    }

    /// One row of an event's booking list (the original's keys).
    struct EventBooking: Codable, Sendable {
        @LowercaseID var id: UUID
        var status: BookingStatus
        var ticket_count: Int
        var total_amount: String
        var user_name: String
        var user_email: String
        var payment_status: String?
        var refund_id: String?
    }

    func forEvent(_ event: UUID, page: PageRequest) async throws -> [EventBooking] {
        try await postgres.query(
            """
            SELECT b.id, b.status::text, b.ticket_count, b.total_amount::text, u.name, u.email, p.status, p.refund_id
            FROM bookings b JOIN users u ON u.id = b.user_id
            LEFT JOIN LATERAL (
                SELECT CASE WHEN refund_status = 'processed' THEN 'refunded' WHEN refund_status IS NOT NULL THEN 'refund_pending'
                            ELSE status::text END AS status, refund_id
                FROM payments WHERE booking_id = b.id ORDER BY (status = 'captured') DESC, created_at DESC LIMIT 1) p ON true
            WHERE b.event_id = $1 AND b.status IN ('pending', 'confirmed', 'cancelled')
            ORDER BY b.booking_date DESC, b.id LIMIT $2 OFFSET $3
            """, [event, page.limit + 1, page.offset]
        ).map { row in
            EventBooking(
                id: try row.decode(0), status: try row.decode(1), ticket_count: try row.decode(2),
                total_amount: try row.decode(3), user_name: try row.decode(4), user_email: try row.decode(5),
                payment_status: try row.decode(6, as: String?.self), refund_id: try row.decode(7, as: String?.self))
        }
    }

    /// Cancels the caller's pending hold and returns its tickets, in one transaction. The status change is
    /// conditional (`pending` → `cancelled` only), so it cannot race a payment's `pending` → `confirmed`.
    /// Returns the event id, or nil when there is no pending booking of this user with that id.
    func cancelPending(_ id: UUID, user: UUID, logger: Logger) async throws -> UUID? {
        try await ticketsLeft.change(logger: logger) { tx in
            guard
                let row = try await tx.connection.query(
                    """
                    UPDATE bookings SET status = 'cancelled', hold_expires_at = NULL, updated_at = now()
                    WHERE id = $1 AND user_id = $2 AND status = 'pending'
                    RETURNING event_id, ticket_count
                    """, [id, user]
                ).first
            else { return nil }
            let event: UUID = try row.decode(0)
            try await tx.giveBack([event: try row.decode(1)])
            return event
        }
    }

    /// A booking its owner can still cancel.
    struct Cancellable: Encodable, Sendable {
        @LowercaseID var id: UUID
        @LowercaseID var event_id: UUID
        let event_title: String
        let event_date: Date
        let ticket_count: Int
        let total_amount: String
    }

    /// `user`'s confirmed bookings whose event starts more than 24 h from now, soonest first.
    func cancellable(_ user: UUID, page: PageRequest) async throws -> [Cancellable] {
        let rows = try await postgres.query(
            """
            SELECT b.id, e.id, e.title, e.date_time, b.ticket_count, b.total_amount::text
            FROM bookings b JOIN events e ON e.id = b.event_id
            WHERE b.user_id = $1 AND b.status = 'confirmed' AND e.date_time > now() + interval '24 hours'
            ORDER BY e.date_time, b.id LIMIT $2 OFFSET $3
            """, [user, page.limit, page.offset])
        return try rows.map { row in
            Cancellable(
                id: try row.decode(0), event_id: try row.decode(1),
                event_title: try row.decode(2), event_date: try row.decode(3), ticket_count: try row.decode(4), total_amount: try row.decode(5))
        }
    }
}
