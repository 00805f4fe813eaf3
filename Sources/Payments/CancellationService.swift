import EventAvailability
import Foundation
import HappeningModel
import HappeningPostgres
import Logging

/// Cancelling bookings and events, with their refunds.
///
/// - A user cancels a confirmed booking more than `minimumNotice` (24 h) before the event: tickets go back and
///   the kept payment is refunded in full. Inside that window: refused with the rule. A pending booking is
///   cancelled with no refund (nothing was paid).
/// - A host or admin cancels an event: a job row is written with the event's cancellation, then bookings are
///   cancelled in batches, each batch one short transaction that records refund intents; refunds are issued
///   after the commit. Any runner (the server right away, the worker's reconcile loop later) can resume the job;
///   a lease keeps two off the same event.
///
/// Tickets go back through ``TicketsLeft``: each transaction that cancels bookings publishes its events' new tickets
/// left after its commit.
public struct CancellationService: Sendable {
    public let payments: PaymentService
    public let minimumNotice: Duration
    private var postgres: PostgresClient { payments.ledger.postgres }
    private let ticketsLeft: TicketsLeft
    private let logger: Logger

    /// - Parameter notifier: publishes the tickets cancellations give back.
    public init(payments: PaymentService, notifier: AvailabilityNotifier, minimumNotice: Duration = .seconds(24 * 3600), logger: Logger) {
        self.payments = payments
        self.ticketsLeft = TicketsLeft(postgres: payments.ledger.postgres, notifier: notifier)
        self.minimumNotice = minimumNotice
        self.logger = logger
    }

    // MARK: One booking

    /// What cancelling a booking did.
    public enum BookingOutcome: Sendable, Equatable {
        /// Cancelled; `refund` is nil for a booking that had nothing to refund (pending or free).
        case cancelled(event: UUID, refund: RefundState?)
        case notFound
        case notCancellable(status: BookingStatus)
        case tooLate(eventStartsAt: Date)
    }

    /// A refund as the API reports it.
    public struct RefundState: Sendable, Equatable {
        public var refundID: String?
        public var status: String
        public var amountPaise: Int64
    }

    /// Cancels the caller's booking (see the type's rules) and issues the refund it owes.
    public func cancelBooking(_ id: UUID, user: UUID) async throws -> BookingOutcome {
        let outcome = try await ticketsLeft.change(logger: logger) { change -> (BookingOutcome, UUID?) in
            let tx = change.connection
            guard
                let row = try await tx.query(
                    """
                    SELECT b.status::text, b.event_id, e.date_time, e.date_time <= now() + make_interval(secs => $3)
                    FROM bookings b JOIN events e ON e.id = b.event_id WHERE b.id = $1 AND b.user_id = $2 FOR UPDATE OF b
                    """, [id, user, Double(minimumNotice.components.seconds)]
                ).first
            else { return (.notFound, nil) }
            let status: BookingStatus = try row.decode(0)
            let event: UUID = try row.decode(1)
            switch status {
            case .pending:
                try await release(change, bookings: "b.id = $1", [id])
                return (.cancelled(event: event, refund: nil), nil)
            case .confirmed:
                if try row.decode(3, as: Bool.self) { return (.tooLate(eventStartsAt: try row.decode(2)), nil) }
                try await release(change, bookings: "b.id = $1", [id])
                return (.cancelled(event: event, refund: nil), try await oweRefunds(tx, bookings: [id]).first)
            case .cancelled, .failed:
                return (.notCancellable(status: status), nil)
            }
        }
        guard case .cancelled(let event, _) = outcome.0, let paymentRow = outcome.1 else { return outcome.0 }
        return .cancelled(event: event, refund: await issueRefund(paymentRow))
    }

    /// Issues an owed refund; when the gateway does not take it, the intent stays for the reconcile pass.
    private func issueRefund(_ paymentRow: UUID) async -> RefundState? {
        guard let due = try? await payments.ledger.refundDue(paymentRow) else { return nil }
        do {
            let issued = try await payments.issue(due)
            return RefundState(refundID: issued.refundID, status: issued.status, amountPaise: due.amountPaise)
        } catch {
            logger.warning("refund not issued yet; the reconcile pass will retry", metadata: ["error": "\(error)"])
            return RefundState(refundID: nil, status: "pending", amountPaise: due.amountPaise)
        }
    }

    /// Records a full-refund intent on the kept payment of each booking; returns the payment rows now owed.
    private func oweRefunds(_ tx: PostgresConnection, bookings: [UUID]) async throws -> [UUID] {
        try await tx.query(
            """
            UPDATE payments SET refund_status = 'pending', refund_amount = amount, refund_attempts = refund_attempts + 1, updated_at = now()
            WHERE booking_id = ANY($1) AND status = 'captured' AND refund_status IS NULL RETURNING id
            """, [PostgresArray(bookings)]
        ).map { try $0.decode(0) }
    }

    /// Cancels the bookings `condition` selects (pending or confirmed) and gives their tickets back, per event.
    private func release(_ tx: TicketsLeftTransaction, bookings condition: String, _ bindings: PostgresBindings) async throws {
        var returned: [UUID: Int] = [:]
        for row in try await tx.connection.query(
            """
            WITH cancelled AS (
                UPDATE bookings b SET status = 'cancelled', hold_expires_at = NULL, updated_at = now()
                WHERE \(condition) AND b.status IN ('pending', 'confirmed') RETURNING b.event_id, b.ticket_count)
            SELECT event_id, sum(ticket_count)::int FROM cancelled GROUP BY event_id
            """, bindings)
        {
            returned[try row.decode(0)] = try row.decode(1)
        }
        try await tx.giveBack(returned)
    }

    // MARK: A whole event

    /// Who asks for an event's cancellation, which decides what may still be cancelled.
    public enum Requester: Sendable, Equatable {
        /// The event's host: only before the event starts, and never once a payout exists (the host would keep the
        /// payout while every buyer is refunded).
        case host
        /// An admin: also after the start; with a payout on its way or made only when `refundAfterPayout` says the
        /// platform means to refund the buyers of an event whose host it has paid.
        case admin(refundAfterPayout: Bool)
    }

    /// What asking for an event's cancellation did.
    public enum CancellationStart: Sendable, Equatable {
        case started
        case notFound
        case alreadyCancelled
        /// The host asked after the event's start.
        case eventStarted
        /// A payout (pending, processing or processed) exists for the event.
        case payoutExists
    }

    /// Marks the event cancelled and records the job, under the event's row lock: a payout created at the same
    /// moment either commits first (and is seen here) or finds the event cancelled (``PayoutService``).
    public func startEventCancellation(_ event: UUID, by user: UUID, as requester: Requester) async throws -> CancellationStart {
        try await postgres.withTransaction { tx in
            guard
                let row = try await tx.query("SELECT is_cancelled, date_time <= now() FROM events WHERE id = $1 FOR UPDATE", [event]).first
            else { return .notFound }
            if try row.decode(0, as: Bool.self) { return .alreadyCancelled }
            if requester == .host, try row.decode(1, as: Bool.self) { return .eventStarted }
            // A statement of its own: it sees a payout committed while this transaction waited for the row lock.
            let paidOut = try await !tx.query("SELECT 1 FROM payouts WHERE event_id = $1 AND \(PayoutService.livePayout)", [event]).isEmpty
            if paidOut, requester != .admin(refundAfterPayout: true) { return .payoutExists }
            try await tx.query("UPDATE events SET is_cancelled = true, updated_at = now() WHERE id = $1", [event])
            try await tx.query("INSERT INTO event_cancellations (event_id, requested_by) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING", [event, user])
            return .started
        }
    }

    /// Progress of an event's cancellation, read live from the bookings and payments.
    public struct Progress: Sendable, Equatable, Codable {
        public var status: String
        public var bookings_remaining: Int
        public var bookings_cancelled: Int
        public var refunds_pending: Int
        public var refunds_processed: Int
        public var refunds_failed: Int
    }

    public func progress(_ event: UUID) async throws -> Progress? {
        try await postgres.query(
            """
            SELECT c.status,
                   (SELECT count(*) FROM bookings WHERE event_id = $1 AND status IN ('pending', 'confirmed')),
                   (SELECT count(*) FROM bookings WHERE event_id = $1 AND status = 'cancelled'),
                   count(p.id) FILTER (WHERE p.refund_status = 'pending'),
                   count(p.id) FILTER (WHERE p.refund_status = 'processed'),
                   count(p.id) FILTER (WHERE p.refund_status = 'failed')
            FROM event_cancellations c
            LEFT JOIN bookings b ON b.event_id = c.event_id
            LEFT JOIN payments p ON p.booking_id = b.id
            WHERE c.event_id = $1 GROUP BY c.status
            """, [event]
        ).first.map { row in
            Progress(
                status: try row.decode(0), bookings_remaining: Int(try row.decode(1, as: Int64.self)),
                bookings_cancelled: Int(try row.decode(2, as: Int64.self)), refunds_pending: Int(try row.decode(3, as: Int64.self)),
                refunds_processed: Int(try row.decode(4, as: Int64.self)), refunds_failed: Int(try row.decode(5, as: Int64.self)))
        }
    }

    /// Runs (or resumes) an event's cancellation: batches of `batchSize` bookings, each batch one transaction,
    /// its refunds issued after the commit. Returns false when another runner holds the lease.
    @discardableResult
    public func runEventCancellation(_ event: UUID, batchSize: Int = 50) async throws -> Bool {
        guard
            try await !postgres.query(
                """
                UPDATE event_cancellations SET lease_until = now() + interval '60 seconds'
                WHERE event_id = $1 AND status = 'running' AND (lease_until IS NULL OR lease_until < now()) RETURNING event_id
                """, [event]
            ).isEmpty
        else { return false }
        // Batches skip bookings another transaction holds (a payment settling); once none is left that way, one
        // more pass waits for such locks, so a booking confirmed while its batch skipped it is still cancelled.
        var waitForLocked = false
        while true {
            let (cancelled, owed) = try await cancelBatch(event, size: batchSize, skipLocked: !waitForLocked)
            if cancelled == 0 {
                if waitForLocked { break }
                waitForLocked = true
                continue
            }
            waitForLocked = false
            for paymentRow in owed { _ = await issueRefund(paymentRow) }
        }
        try await postgres.query(
            "UPDATE event_cancellations SET status = 'done', finished_at = now(), lease_until = NULL WHERE event_id = $1 AND status = 'running'", [event])
        logger.info("event cancellation finished", metadata: ["event": "\(event)"])
        return true
    }

    /// Cancels one batch of the event's open bookings in one transaction and records their refund intents; returns
    /// how many were cancelled and the payment rows now owed.
    private func cancelBatch(_ event: UUID, size: Int, skipLocked: Bool) async throws -> (Int, [UUID]) {
        try await ticketsLeft.change(logger: logger) { change -> (Int, [UUID]) in
            let tx = change.connection
            let batch: [UUID] = try await tx.query(
                """
                SELECT id FROM bookings WHERE event_id = $1 AND status IN ('pending', 'confirmed')
                ORDER BY id LIMIT $2 FOR UPDATE \(skipLocked ? "SKIP LOCKED" : "")
                """, [event, size]
            ).map { try $0.decode(0) }
            guard !batch.isEmpty else { return (0, []) }
            try await release(change, bookings: "b.id = ANY($1)", [PostgresArray(batch)])
            try await tx.query("UPDATE event_cancellations SET lease_until = now() + interval '60 seconds' WHERE event_id = $1", [event])
            return (batch.count, try await oweRefunds(tx, bookings: batch))
        }
    }

    /// Events whose cancellation is unfinished and not being worked on (for the reconcile loop).
    public func unfinishedEventCancellations(limit: Int = 10) async throws -> [UUID] {
        try await postgres.query(
            """
            SELECT event_id FROM event_cancellations WHERE status = 'running' AND (lease_until IS NULL OR lease_until < now())
            ORDER BY requested_at LIMIT $1
            """, [limit]
        ).map { try $0.decode(0) }
    }
}
