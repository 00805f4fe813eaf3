import EventAvailability
import Foundation
import HappeningModel
import HappeningPostgres
import Logging

/// Decides booking jobs in PostgreSQL, one transaction per decision (per group for `batch`), each a ``TicketsLeft``
/// change: after the COMMIT the event's new tickets left (what the decision's UPDATE returned) is published and the
/// decided bookings' admission claims are released, whatever the outcome, in one Redis script.
///
/// Every strategy is idempotent on the booking id (the bookings primary key): a job already decided is
/// reported as ``BookingOutcome/alreadyDecided`` and changes nothing, also when two deliveries of the same
/// job race (the second insert hits the primary key and its transaction rolls back).
public struct BookingDecider: Sendable {
    let postgres: PostgresClient
    /// Where decisions change tickets left and publish them.
    let ticketsLeft: TicketsLeft
    let strategy: BookingStrategy
    /// How long a hold on a paid event lasts.
    let holdMinutes: Int
    /// The `unsafe` strategy's pause between reading the availability and writing it (default 2 ms, the way real work
    /// would widen the race); a gate that must see an oversell on a starved machine widens it further.
    let unsafeRaceWindow: Duration
    /// The most tickets of one event one user may hold (pending and confirmed together; 0, the default here: no cap;
    /// the worker passes `MAX_TICKETS_PER_USER_PER_EVENT`). Checked under the event's row lock, so a user's parallel
    /// requests cannot pass it together: one account cannot hoard a sale.
    let perUserLimit: Int
    /// False only for the `admission-lease-outlives-sale` mutation: decided bookings' admission claims are left to lapse.
    let releasesClaims: Bool
    let logger: Logger

    /// - Parameter notifier: publishes each decision's tickets left (``AvailabilityNotifier/disabled``, the default, for
    ///   tests of the decisions alone).
    public init(
        postgres: PostgresClient, strategy: BookingStrategy, holdMinutes: Int = 15, unsafeRaceWindow: Duration = .milliseconds(2),
        perUserLimit: Int = 0, notifier: AvailabilityNotifier = .disabled, releasesClaims: Bool = true,
        logger: Logger = Logger(label: "happening.decider")
    ) {
        self.postgres = postgres
        self.ticketsLeft = TicketsLeft(postgres: postgres, notifier: notifier)
        self.releasesClaims = releasesClaims
        self.logger = logger
        self.strategy = strategy
        self.holdMinutes = holdMinutes
        self.unsafeRaceWindow = unsafeRaceWindow
        self.perUserLimit = perUserLimit
    }

    /// Decides one job. Throws only for database trouble (the caller retries transient errors).
    public func decide(_ job: BookingJob) async throws -> BookingOutcome {
        if strategy == .batch { return try await decideAll([job])[0] }
        do {
            return try await ticketsLeft.change(releasing: claims([job]), logger: logger) { tx in
                if try await Self.alreadyDecided(tx.connection, job.booking_id) {
                    tx.republish(job.event_id)  // its first decision's publish may never have happened
                    return .alreadyDecided
                }
                guard (1...BookingJob.maximumTickets).contains(job.ticket_count) else {
                    try await recordFailure(tx.connection, job, .invalid)
                    return .failed(.invalid)
                }
                switch strategy {
                case .forUpdate: return try await decideLocked(tx, job)
                case .conditionalUpdate: return try await decideConditionally(tx, job)
                case .unsafe: return try await decideUnsafely(tx, job)
                case .batch: fatalError("handled above")
                }
            }
        } catch let error as PostgresError where error.isUniqueViolation && error.constraint == "bookings_pkey" {
            // A concurrent delivery of the same job won; its claim goes and its event's value is published again.
            await ticketsLeft.republish([job.event_id], releasing: claims([job]), logger: logger)
            return .alreadyDecided
        }
    }

    /// The admission claims the jobs' intake made (released once they are decided), or none under the mutation.
    func claims(_ jobs: [BookingJob]) -> [AdmissionClaim] {
        releasesClaims ? jobs.map { AdmissionClaim(event: $0.event_id, booking: $0.booking_id) } : []
    }

    // MARK: Strategies

    /// The seed's strategy: lock the row, check, decrement, insert.
    private func decideLocked(_ tx: TicketsLeftTransaction, _ job: BookingJob) async throws -> BookingOutcome {
        let rows = try await tx.connection.query(Self.eventState(locked: true), [job.event_id])
        guard let row = rows.first else {
            try await recordFailure(tx.connection, job, .invalid)
            return .failed(.invalid)
        }
        let price: PostgresNumeric = try row.decode(0)
        if let reason = Self.refusal(
            available: try row.decode(1), approval: try row.decode(2), cancelled: try row.decode(3),
            future: try row.decode(4), wanted: job.ticket_count)
        {
            try await recordFailure(tx.connection, job, reason)
            return .failed(reason)
        }
        if try await overUserLimit(tx.connection, job) {
            try await recordFailure(tx.connection, job, .ticketLimit)
            return .failed(.ticketLimit)
        }
        try await tx.take(job.ticket_count, of: job.event_id)
        return try await insertBooking(tx.connection, job, price: price)
    }

    /// One conditional UPDATE that only succeeds when the event is bookable and has the tickets.
    private func decideConditionally(_ tx: TicketsLeftTransaction, _ job: BookingJob) async throws -> BookingOutcome {
        if let price = try await tx.takeIfBookable(job.ticket_count, of: job.event_id) {
            // The UPDATE holds the event's row lock now: the user's count is read after it, so it sees their other
            // bookings of this event that committed first. Over the cap, the tickets are put back.
            guard try await !overUserLimit(tx.connection, job) else {
                try await tx.giveBack([job.event_id: job.ticket_count])
                try await recordFailure(tx.connection, job, .ticketLimit)
                return .failed(.ticketLimit)
            }
            return try await insertBooking(tx.connection, job, price: price)
        }
        let rows = try await tx.connection.query(
            "SELECT available_tickets, approval_status::text, is_cancelled, date_time > now() FROM events WHERE id = $1", [job.event_id])
        let reason: BookingOutcome.FailureReason
        if let row = rows.first {
            reason =
                Self.refusal(
                    available: try row.decode(0), approval: try row.decode(1), cancelled: try row.decode(2),
                    future: try row.decode(3), wanted: job.ticket_count) ?? .soldOut
        } else {
            reason = .invalid
        }
        try await recordFailure(tx.connection, job, reason)
        return .failed(reason)
    }

    /// Read, then write the absolute new value: concurrent jobs overwrite each other's decrement.
    private func decideUnsafely(_ tx: TicketsLeftTransaction, _ job: BookingJob) async throws -> BookingOutcome {
        let rows = try await tx.connection.query(Self.eventState(locked: false), [job.event_id])
        guard let row = rows.first else {
            try await recordFailure(tx.connection, job, .invalid)
            return .failed(.invalid)
        }
        let available: Int = try row.decode(1)
        if let reason = Self.refusal(
            available: available, approval: try row.decode(2), cancelled: try row.decode(3),
            future: try row.decode(4), wanted: job.ticket_count)
        {
            try await recordFailure(tx.connection, job, reason)
            return .failed(reason)
        }
        try await Task.sleep(for: unsafeRaceWindow)
        try await tx.set(job.event_id, to: available - job.ticket_count)
        return try await insertBooking(tx.connection, job, price: try row.decode(0))
    }

    // MARK: Shared steps

    /// The event's price, availability and state (columns 0–4), optionally locking the row.
    static func eventState(locked: Bool) -> String {
        "SELECT price::text, available_tickets, approval_status::text, is_cancelled, date_time > now() FROM events WHERE id = $1"
            + (locked ? " FOR UPDATE" : "")
    }

    /// Tickets of `event` each of `users` holds (pending and confirmed), read in its own statement: called under the
    /// event's row lock, it sees every booking of the event that committed before.
    static func heldTickets(_ tx: PostgresConnection, event: UUID, users: [UUID]) async throws -> [UUID: Int] {
        var held: [UUID: Int] = [:]
        for row in try await tx.query(
            """
            SELECT user_id, sum(ticket_count)::int FROM bookings
            WHERE event_id = $1 AND user_id = ANY($2::uuid[]) AND status IN ('pending', 'confirmed') GROUP BY user_id
            """, [event, PostgresArray(users)])
        {
            held[try row.decode(0)] = try row.decode(1)
        }
        return held
    }

    /// True when the job would take its user past ``perUserLimit`` on its event.
    func overUserLimit(_ tx: PostgresConnection, _ job: BookingJob) async throws -> Bool {
        guard perUserLimit > 0 else { return false }
        let held = try await Self.heldTickets(tx, event: job.event_id, users: [job.user_id])[job.user_id] ?? 0
        return held + job.ticket_count > perUserLimit
    }

    static func alreadyDecided(_ tx: PostgresConnection, _ id: UUID) async throws -> Bool {
        !(try await tx.query("SELECT 1 FROM bookings WHERE id = $1", [id]).isEmpty)
    }

    /// Why an event refuses `wanted` tickets, or nil when it can take them.
    static func refusal(available: Int, approval: String, cancelled: Bool, future: Bool, wanted: Int) -> BookingOutcome.FailureReason? {
        if approval != "approved" || cancelled { return .eventUnavailable }
        if !future { return .eventPast }
        if available < wanted { return .soldOut }
        return nil
    }

    /// Inserts the hold (paid) or confirmed booking (free); the amount is computed in SQL, exactly. `updated_at` is the
    /// decision's wall-clock time (`clock_timestamp()`, after the event's row lock was won, moments before the commit),
    /// not the transaction's start: the Bench's decision latency and staleness checks read it.
    func insertBooking(_ tx: PostgresConnection, _ job: BookingJob, price: PostgresNumeric) async throws -> BookingOutcome {
        let free = (try? price.minorUnits(scale: 2)) == 0
        try await tx.query(
            """
            INSERT INTO bookings (id, user_id, event_id, ticket_count, total_amount, status, hold_expires_at, idempotency_key, booking_date,
                                  updated_at)
            VALUES ($1, $2, $3, $4::int, $5::numeric * $4::int, $6::text::booking_status,
                    CASE WHEN $6::text = 'pending' THEN now() + make_interval(mins => $7::int) END, $8, $9, clock_timestamp())
            """,
            [
                job.booking_id, job.user_id, job.event_id, job.ticket_count, price, free ? "confirmed" : "pending", holdMinutes,
                job.idempotency_key, job.requested_at,
            ])
        return free ? .confirmed : .held
    }

    /// Records a `failed` booking so the client learns the outcome.
    func recordFailure(_ tx: PostgresConnection, _ job: BookingJob, _ reason: BookingOutcome.FailureReason) async throws {
        try await tx.query(
            """
            INSERT INTO bookings (id, user_id, event_id, ticket_count, total_amount, status, failure_reason, idempotency_key, booking_date)
            VALUES ($1, $2, (SELECT id FROM events WHERE id = $3), GREATEST($4, 1), 0, 'failed', $5::booking_failure_reason, $6, $7)
            """,
            [job.booking_id, job.user_id, job.event_id, job.ticket_count, reason.rawValue, job.idempotency_key, job.requested_at])
    }

    /// Records `failed/error` for a job that could not be decided (its own transaction; a no-op if decided).
    /// Undoes a booking this worker decided: deletes its row and gives its tickets back (the `confirm-then-roll-back`
    /// mutation: a confirmation rolled back after the customer could have been told; never in production).
    public func undo(_ job: BookingJob) async throws {
        try await ticketsLeft.change(logger: logger) { tx in
            let rows = try await tx.connection.query(
                "DELETE FROM bookings WHERE id = $1 AND status IN ('confirmed', 'pending') RETURNING ticket_count", [job.booking_id])
            guard let row = rows.first else { return }
            try await tx.giveBack([job.event_id: try row.decode(0)])
        }
    }

    public func recordError(_ job: BookingJob) async throws {
        try await postgres.query(
            """
            INSERT INTO bookings (id, user_id, event_id, ticket_count, total_amount, status, failure_reason, idempotency_key, booking_date)
            VALUES ($1, $2, (SELECT id FROM events WHERE id = $3), GREATEST($4, 1), 0, 'failed', 'error', $5, $6)
            ON CONFLICT (id) DO NOTHING
            """, [job.booking_id, job.user_id, job.event_id, job.ticket_count, job.idempotency_key, job.requested_at])
    }
}
