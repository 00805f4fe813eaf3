import EventAvailability
import Foundation
import HappeningModel
import HappeningPostgres
import Logging
import Payments

/// Events in PostgreSQL.
struct EventRepository: Sendable {
    let postgres: PostgresClient
    /// Where an edit of `total_tickets` moves tickets left (and publishes them).
    let ticketsLeft: TicketsLeft

    private static let from = "FROM events e LEFT JOIN users u ON u.id = e.created_by"

    /// The fields a create or edit sets (nil = unchanged on edit).
    struct Fields: Sendable {
        var title: String?
        var description: String??
        var dateTime: Date?
        var venue: String?
        var totalTickets: Int?
        var price: PostgresNumeric?
        var category: EventCategory?
        var imageURL: String??
        var latitude: Double?
        var longitude: Double?
    }

    func create(_ fields: Fields, by host: UUID, approved: Bool) async throws -> EventRecord {
        let rows = try await postgres.query(
            """
            WITH inserted AS (
                INSERT INTO events (created_by, title, description, date_time, venue, total_tickets, available_tickets,
                                    price, category, image_url, latitude, longitude, approval_status, approved_by, approved_at)
                VALUES ($1, $2, $3, $4, $5, $6, $6, $7::numeric, $8::event_category, $9, $10, $11,
                        $12::approval_status, CASE WHEN $13 THEN $1::uuid END, CASE WHEN $13 THEN now() END)
                RETURNING *)
            SELECT \(EventRecord.columns) FROM inserted e LEFT JOIN users u ON u.id = e.created_by
            """,
            [
                host, fields.title, fields.description ?? nil, fields.dateTime, fields.venue, fields.totalTickets, fields.price,
                fields.category?.rawValue, fields.imageURL ?? nil, fields.latitude, fields.longitude,
                (approved ? ApprovalStatus.approved : .pending).rawValue, approved,
            ])
        return try EventRecord(row: rows[0])
    }

    func find(_ id: UUID) async throws -> EventRecord? {
        try await postgres.query("SELECT \(EventRecord.columns) \(Self.from) WHERE e.id = $1", [id]).first.map { try EventRecord(row: $0) }
    }

    /// What booking intake checks before the admission gate: when the event starts, and its tickets left (only
    /// consulted when the gate is off or Redis holds no value).
    struct BookingFacts: Sendable, Equatable {
        let startsAt: Date
        let ticketsLeft: Int
    }

    /// The booking facts of a public event (approved, not cancelled); nil for any other.
    func bookingFacts(_ id: UUID) async throws -> BookingFacts? {
        try await postgres.query(
            "SELECT date_time, available_tickets FROM events WHERE id = $1 AND approval_status = 'approved' AND NOT is_cancelled", [id]
        ).first.map { BookingFacts(startsAt: try $0.decode(0), ticketsLeft: try $0.decode(1)) }
    }

    /// Applies an edit inside a transaction with the row locked. Changing `total_tickets` moves
    /// `available_tickets` by the same amount, and may not go below what is already sold or held (422).
    /// A material edit by a non-admin sends an approved event back to review.
    func update(_ id: UUID, _ fields: Fields, sendBackToReview: Bool, byHost: Bool, logger: Logger) async throws -> EventRecord? {
        try await ticketsLeft.change(logger: logger) { change in
            let tx = change.connection
            guard
                let row = try await tx.query(
                    "SELECT total_tickets, available_tickets, is_cancelled, date_time <= now() FROM events WHERE id = $1 FOR UPDATE", [id]
                ).first
            else { return nil }
            if byHost {
                if try row.decode(2, as: Bool.self) { throw AppError.conflict("A cancelled event cannot be edited", code: "already_cancelled") }
                if try row.decode(3, as: Bool.self) { throw AppError.conflict("The event has started; only an admin can edit it now", code: "event_started") }
                // A statement of its own, after the row lock: it sees a payout committed while this waited.
                if try await !tx.query("SELECT 1 FROM payouts WHERE event_id = $1 AND \(PayoutService.livePayout)", [id]).isEmpty {
                    throw AppError.conflict("The host has been paid out for this event; only an admin can edit it now", code: "payout_exists")
                }
            }
            let total: Int = try row.decode(0)
            let available: Int = try row.decode(1)
            let sold = total - available
            if let newTotal = fields.totalTickets, newTotal < sold {
                throw AppError.unprocessable("total_tickets cannot go below the \(sold) tickets already sold or held", code: "below_sold")
            }
            if let newTotal = fields.totalTickets, newTotal != total { try await change.resize(id, total: newTotal) }
            let rows = try await tx.query(
                """
                WITH updated AS (
                    UPDATE events SET
                        title = COALESCE($2, title),
                        description = CASE WHEN $3 THEN $4 ELSE description END,
                        date_time = COALESCE($5, date_time),
                        venue = COALESCE($6, venue),
                        price = COALESCE($7::numeric, price),
                        category = COALESCE($8::event_category, category),
                        image_url = CASE WHEN $9 THEN $10 ELSE image_url END,
                        latitude = COALESCE($11, latitude),
                        longitude = COALESCE($12, longitude),
                        approval_status = CASE WHEN $13 AND approval_status = 'approved' THEN 'pending' ELSE approval_status END,
                        approved_by = CASE WHEN $13 AND approval_status = 'approved' THEN NULL ELSE approved_by END,
                        approved_at = CASE WHEN $13 AND approval_status = 'approved' THEN NULL ELSE approved_at END,
                        updated_at = now()
                    WHERE id = $1 RETURNING *)
                SELECT \(EventRecord.columns) FROM updated e LEFT JOIN users u ON u.id = e.created_by
                """,
                [
                    id, fields.title, fields.description != nil, fields.description ?? nil, fields.dateTime, fields.venue,
                    fields.price, fields.category?.rawValue, fields.imageURL != nil, fields.imageURL ?? nil,
                    fields.latitude, fields.longitude, sendBackToReview,
                ])
            return try rows.first.map { try EventRecord(row: $0) }
        }
    }

    /// Sets the approval decision. False when the event does not exist.
    func review(_ id: UUID, decision: ReviewAction, notes: String?, by admin: UUID) async throws -> Bool {
        try await postgres.query(
            """
            UPDATE events SET approval_status = $2::approval_status, admin_notes = $3, approved_by = $4, approved_at = now(), updated_at = now()
            WHERE id = $1
            """, [id, decision.approvalStatus.rawValue, notes, admin]
        ).affectedRows == 1
    }

    func list(status: ApprovalStatus, page: PageRequest) async throws -> [EventRecord] {
        try await postgres.query(
            "SELECT \(EventRecord.columns) \(Self.from) WHERE e.approval_status = $1::approval_status ORDER BY e.created_at DESC, e.id LIMIT $2 OFFSET $3",
            [status.rawValue, page.limit + 1, page.offset]
        ).map { try EventRecord(row: $0) }
    }

    func owned(by host: UUID, page: PageRequest) async throws -> [EventRecord] {
        try await postgres.query(
            "SELECT \(EventRecord.columns) \(Self.from) WHERE e.created_by = $1 ORDER BY e.date_time DESC, e.id LIMIT $2 OFFSET $3",
            [host, page.limit + 1, page.offset]
        ).map { row in
            var event = try EventRecord(row: row)
            event.tickets_sold = event.total_tickets - event.available_tickets
            return event
        }
    }

    /// Approved, not cancelled, upcoming events (the homepage), optionally in one category, from `cursor` or
    /// at `page`'s offset.
    func upcoming(category: EventCategory? = nil, page: PageRequest, cursor: PageCursor? = nil) async throws -> [EventRecord] {
        var bindings: PostgresBindings = [category?.rawValue, page.limit + 1, cursor == nil ? page.offset : 0]
        let after =
            cursor.map { cursor in
                "AND "
                    + cursor.condition(table: "e") { value in
                        bindings.append(value)
                        return "$\(bindings.count)"
                    }
            } ?? ""
        return try await postgres.query(
            """
            SELECT \(EventRecord.columns) \(Self.from)
            WHERE e.approval_status = 'approved' AND e.is_cancelled = false AND e.date_time > now()
              AND ($1::event_category IS NULL OR e.category = $1::event_category) \(after)
            ORDER BY e.date_time, e.id LIMIT $2 OFFSET $3
            """, bindings
        ).map { try EventRecord(row: $0) }
    }

    func search(_ search: EventSearch) async throws -> [EventRecord] {
        if search.sort == .distance, let near = search.near { return try await nearest(NearestEvents(search: search, near: near)) }
        if let text = search.text, search.near == nil {
            if search.sort == .date {
                let (sql, bindings) = TextSearchPlan.earliestSQL(search, text: text, window: TextSearchPlan.window(for: search))
                let rows = try await postgres.query(sql, bindings)
                if rows.count == search.page.limit + 1 { return try rows.map { try EventRecord(row: $0) } }
            }
            let (sql, bindings) = TextSearchPlan.trigramSQL(search)
            return try await postgres.query(sql, bindings).map { try EventRecord(row: $0) }
        }
        let (sql, bindings) = search.sql()
        let rows = try await postgres.query(sql, bindings)
        return try rows.map { try EventRecord(row: $0, distanceColumn: rows.columns.count - 1) }.map { event in
            var event = event
            if search.near == nil { event.distance_km = nil }
            return event
        }
    }

    /// Nearest first from the GiST index, with as many candidates as make the page exact (``NearestEvents``).
    private func nearest(_ nearest: NearestEvents) async throws -> [EventRecord] {
        var candidates = nearest.firstCandidates
        while true {
            let (sql, bindings) = nearest.sql(candidates: candidates)
            let rows = try await postgres.query(sql, bindings)
            let distanceColumn = rows.columns.count - 3
            var events: [EventRecord] = []
            var read = 0
            var reach: Double?
            for row in rows {
                read = try row.decode(distanceColumn + 1, as: Int.self)
                reach = try row.decode(distanceColumn + 2, as: Double?.self)
                if try row.decode(0, as: UUID?.self) != nil { events.append(try EventRecord(row: row, distanceColumn: distanceColumn)) }
            }
            let distances = try rows.compactMap { try $0.decode(distanceColumn, as: Double?.self) }
            if candidates >= NearestEvents.maximumCandidates
                || nearest.isExact(asked: candidates, read: read, reach: reach, pageDistances: distances)
            {
                return events
            }
            candidates = min(candidates * 4, NearestEvents.maximumCandidates)
        }
    }
}
