import Foundation
import HappeningModel
import HappeningPostgres
import HappeningSystem

/// The payments tables in PostgreSQL: orders, captures, refund intents and outcomes. Short transactions only;
/// no gateway call ever runs inside one (``PaymentService`` records intent, calls, then records the outcome).
///
/// Amounts cross this API as integer paise; the tables keep exact `NUMERIC(12,2)` rupees.
public struct PaymentLedger: Sendable {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) { self.postgres = postgres }

    /// A booking its owner may pay for.
    public struct PayableBooking: Sendable {
        public var id: UUID
        public var status: BookingStatus
        public var amountPaise: Int64
        public var holdExpiresAt: Date?
    }

    /// The caller's booking (nil if it is not theirs or does not exist).
    public func booking(_ id: UUID, user: UUID) async throws -> PayableBooking? {
        try await postgres.query(
            "SELECT id, status::text, (total_amount * 100)::bigint, hold_expires_at FROM bookings WHERE id = $1 AND user_id = $2", [id, user]
        ).first.map { row in
            PayableBooking(id: try row.decode(0), status: try row.decode(1), amountPaise: try row.decode(2), holdExpiresAt: try row.decode(3, as: Date?.self))
        }
    }

    /// The newest order of a booking still open (`created`) and younger than `ttl`, and how many orders it has.
    public func latestOrder(booking: UUID, ttl: Duration) async throws -> (live: String?, count: Int) {
        let rows = try await postgres.query(
            """
            SELECT (SELECT payment_intent_id FROM payments WHERE booking_id = $1 AND status = 'created'
                      AND created_at > now() - make_interval(secs => $2) ORDER BY created_at DESC LIMIT 1),
                   (SELECT count(*) FROM payments WHERE booking_id = $1 AND NOT extra_capture)
            """, [booking, Int(ttl.components.seconds)])
        guard let row = rows.first else { return (nil, 0) }
        return (try row.decode(0, as: String?.self), Int(try row.decode(1, as: Int64.self)))
    }

    /// Records an order the gateway created for a booking (a repeat of the same order is harmless).
    public func recordOrder(booking: UUID, orderID: String, amountPaise: Int64) async throws {
        try await postgres.query(
            """
            INSERT INTO payments (booking_id, payment_intent_id, amount, status)
            VALUES ($1, $2, $3::bigint / 100.0, 'created') ON CONFLICT (payment_intent_id) WHERE NOT extra_capture DO NOTHING
            """, [booking, orderID, amountPaise])
    }

    /// An order we created, with its booking and owner.
    public struct OrderRecord: Sendable {
        public var paymentRowID: UUID
        public var bookingID: UUID
        public var userID: UUID
        public var amountPaise: Int64
    }

    public func order(_ orderID: String) async throws -> OrderRecord? {
        try await postgres.query(
            """
            SELECT p.id, p.booking_id, b.user_id, (p.amount * 100)::bigint
            FROM payments p JOIN bookings b ON b.id = p.booking_id WHERE p.payment_intent_id = $1 AND NOT p.extra_capture
            """, [orderID]
        ).first.map { row in
            OrderRecord(paymentRowID: try row.decode(0), bookingID: try row.decode(1), userID: try row.decode(2), amountPaise: try row.decode(3))
        }
    }

    /// What a captured payment did to its booking.
    public enum CaptureOutcome: Sendable, Equatable {
        /// The booking was pending and is now confirmed (its event's cache should be invalidated).
        case confirmed(booking: UUID, event: UUID)
        /// The booking was no longer pending (cancelled, hold expired, already paid), its event was cancelled, or the
        /// order was paid twice: the payment is owed back (`paymentRow` is the row that records it).
        case refundOwed(paymentRow: UUID, booking: UUID, bookingStatus: BookingStatus)
        /// This payment was settled before (a replayed webhook, a second verify): nothing changed.
        case alreadySettled(refunding: Bool)
        /// No order of ours has this id.
        case unknownOrder
    }

    /// Settles a captured payment in one transaction, under the order's row lock: pending → confirmed (conditional on
    /// the booking still being pending and its event not cancelled, under the booking's row lock), else the capture is
    /// recorded with a refund intent. A second payment on an order already captured (a double debit) gets a row of its
    /// own with its own refund intent: the first payment's row, the one the booking keeps, is never overwritten.
    public func settleCapture(orderID: String, paymentID: String, amountPaise: Int64) async throws -> CaptureOutcome {
        try await postgres.withTransaction { tx -> CaptureOutcome in
            guard
                let row = try await tx.query(
                    """
                    SELECT p.id, p.booking_id, p.status::text, (p.amount * 100)::bigint
                    FROM payments p WHERE p.payment_intent_id = $1 AND NOT p.extra_capture FOR UPDATE
                    """, [orderID]
                ).first
            else { return .unknownOrder }
            let paymentRow: UUID = try row.decode(0)
            let booking: UUID = try row.decode(1)
            // After the lock: a replay of a payment settled before, on this order's row or on an extra one.
            if let seen = try await tx.query("SELECT refund_status IS NOT NULL FROM payments WHERE razorpay_payment_id = $1", [paymentID]).first {
                return .alreadySettled(refunding: try seen.decode(0))
            }
            if try row.decode(2, as: String.self) == "captured" {
                let extra: UUID = try await tx.query(
                    """
                    INSERT INTO payments (booking_id, payment_intent_id, razorpay_payment_id, amount, status, refund_status, refund_amount,
                                          refund_attempts, extra_capture)
                    VALUES ($1, $2, $3, $4::bigint / 100.0, 'captured', 'pending', $4::bigint / 100.0, 1, true) RETURNING id
                    """, [booking, orderID, paymentID, amountPaise])[0].decode(0)
                let status: BookingStatus = try await tx.query("SELECT status::text FROM bookings WHERE id = $1", [booking])[0].decode(0)
                return .refundOwed(paymentRow: extra, booking: booking, bookingStatus: status)
            }
            let orderAmount: Int64 = try row.decode(3)
            guard
                let bookingRow = try await tx.query(
                    "SELECT b.status::text, b.event_id, coalesce(e.is_cancelled, true) FROM bookings b LEFT JOIN events e ON e.id = b.event_id WHERE b.id = $1 FOR UPDATE OF b",
                    [booking]
                ).first
            else { return .unknownOrder }
            let status: BookingStatus = try bookingRow.decode(0)
            let eventCancelled: Bool = try bookingRow.decode(2)
            if status == .pending, amountPaise == orderAmount, !eventCancelled {
                try await tx.query(
                    "UPDATE bookings SET status = 'confirmed', hold_expires_at = NULL, updated_at = now() WHERE id = $1 AND status = 'pending'", [booking])
                try await tx.query(
                    "UPDATE payments SET status = 'captured', razorpay_payment_id = $2, updated_at = now() WHERE id = $1", [paymentRow, paymentID])
                return .confirmed(booking: booking, event: try bookingRow.decode(1))
            }
            try await tx.query(
                """
                UPDATE payments SET status = 'captured', razorpay_payment_id = $2, refund_status = 'pending',
                       refund_amount = $3::bigint / 100.0, refund_attempts = refund_attempts + 1, updated_at = now()
                WHERE id = $1
                """, [paymentRow, paymentID, amountPaise])
            return .refundOwed(paymentRow: paymentRow, booking: booking, bookingStatus: status)
        }
    }

    /// A failed checkout attempt: the order's row says so (the booking stays pending; a new order can be made).
    public func markFailed(orderID: String) async throws {
        try await postgres.query("UPDATE payments SET status = 'failed', updated_at = now() WHERE payment_intent_id = $1 AND status = 'created'", [orderID])
    }

    /// A refund that is owed (or failed and must be tried again), with the receipt that makes the attempt idempotent.
    public struct RefundDue: Sendable {
        public var paymentRow: UUID
        public var paymentID: String
        public var amountPaise: Int64
        public var receipt: String
        public var bookingID: UUID
    }

    /// The refund owed on one payment row, if it has not been issued yet.
    public func refundDue(_ paymentRow: UUID) async throws -> RefundDue? {
        try await refundsDue(where: "p.id = $1", [paymentRow]).first
    }

    /// Refunds owed but not issued (intent recorded, gateway not reached) for at least `age`; failed ones are
    /// re-armed with a new attempt number first.
    public func refundsDue(olderThan age: Duration, limit: Int = 100) async throws -> [RefundDue] {
        try await postgres.query(
            """
            UPDATE payments SET refund_status = 'pending', refund_id = NULL, refund_attempts = refund_attempts + 1, updated_at = now()
            WHERE refund_status = 'failed'
            """)
        return try await refundsDue(
            where: "p.refund_id IS NULL AND p.updated_at < now() - make_interval(secs => $1) ORDER BY p.updated_at LIMIT $2",
            [age.seconds, limit])
    }

    private func refundsDue(where condition: String, _ bindings: PostgresBindings) async throws -> [RefundDue] {
        try await postgres.query(
            """
            SELECT p.id, p.razorpay_payment_id, (p.refund_amount * 100)::bigint, p.refund_attempts, p.booking_id
            FROM payments p WHERE p.refund_status = 'pending' AND p.refund_id IS NULL AND \(condition)
            """, bindings
        ).map { row in
            let paymentID: String = try row.decode(1)
            return RefundDue(
                paymentRow: try row.decode(0), paymentID: paymentID, amountPaise: try row.decode(2),
                receipt: "rf_\(paymentID)_\(try row.decode(3, as: Int.self))", bookingID: try row.decode(4))
        }
    }

    /// Stores what the gateway said about a refund it accepted.
    public func recordRefund(paymentRow: UUID, refundID: String, status: String) async throws {
        try await postgres.query(
            """
            UPDATE payments SET refund_id = $2, refund_status = $3::refund_state, updated_at = now()
            WHERE id = $1 AND refund_status IS NOT NULL
            """, [paymentRow, refundID, RefundState(gatewayState: status).rawValue])
    }

    /// A refund's outcome (webhook or fetch). False when the refund is not ours.
    @discardableResult
    public func updateRefund(refundID: String, status: String) async throws -> Bool {
        !(try await postgres.query(
            "UPDATE payments SET refund_status = $2::refund_state, updated_at = now() WHERE refund_id = $1 AND refund_status <> 'processed' RETURNING id",
            [refundID, RefundState(gatewayState: status).rawValue]
        ).isEmpty)
    }

    /// A refund of one of `user`'s bookings: its payment row and the state we hold.
    public func refund(_ refundID: String, user: UUID) async throws -> (paymentRow: UUID, status: String, amountPaise: Int64)? {
        try await postgres.query(
            """
            SELECT p.id, p.refund_status::text, (p.refund_amount * 100)::bigint
            FROM payments p JOIN bookings b ON b.id = p.booking_id WHERE p.refund_id = $1 AND b.user_id = $2
            """, [refundID, user]
        ).first.map { (try $0.decode(0), try $0.decode(1), try $0.decode(2)) }
    }

    /// Refunds the gateway accepted but has not settled for at least `age`.
    public func pendingRefunds(olderThan age: Duration, limit: Int = 100) async throws -> [String] {
        try await postgres.query(
            """
            SELECT refund_id FROM payments WHERE refund_status = 'pending' AND refund_id IS NOT NULL
              AND updated_at < now() - make_interval(secs => $1) ORDER BY updated_at LIMIT $2
            """, [Int(age.components.seconds), limit]
        ).map { try $0.decode(0) }
    }

    /// Orders still open after `age` (a closed browser, a lost webhook): the reconcile pass asks the gateway.
    public func openOrders(olderThan age: Duration, limit: Int = 100) async throws -> [String] {
        try await postgres.query(
            """
            SELECT payment_intent_id FROM payments WHERE status = 'created'
              AND updated_at < now() - make_interval(secs => $1) AND created_at > now() - interval '2 days'
            ORDER BY updated_at LIMIT $2
            """, [Int(age.components.seconds), limit]
        ).map { try $0.decode(0) }
    }

    /// Moves a row the reconcile pass looked at (and could not finish) to the back of the queue, so one that keeps
    /// failing never starves the others.
    public func touch(paymentRow: UUID? = nil, orderID: String? = nil, refundID: String? = nil) async throws {
        try await postgres.query(
            "UPDATE payments SET updated_at = now() WHERE id = $1 OR payment_intent_id = $2 OR refund_id = $3",
            [paymentRow, orderID, refundID])
    }

    /// Records a webhook event id; false when it was seen (and processed) before.
    public func firstDelivery(eventID: String, event: String) async throws -> Bool {
        let rows = try await postgres.query(
            """
            INSERT INTO webhook_events (event_id, event) VALUES ($1, $2)
            ON CONFLICT (event_id) DO UPDATE SET received_at = webhook_events.received_at WHERE webhook_events.processed_at IS NULL
            RETURNING event_id
            """, [eventID, event])
        return !rows.isEmpty
    }

    public func markProcessed(eventID: String) async throws {
        try await postgres.query("UPDATE webhook_events SET processed_at = now() WHERE event_id = $1", [eventID])
    }
}
