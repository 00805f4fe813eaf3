import Foundation
import HappeningModel
import HappeningPostgres
import Logging
import Razorpay

/// The money paths that talk to Razorpay: orders, verification, webhooks and refunds. Every gateway call
/// happens outside a database transaction: record the intent, call, record the outcome. A crash in between
/// leaves an intent that ``reconcile()`` finishes.
public struct PaymentService: Sendable {
    public let ledger: PaymentLedger
    public let gateway: RazorpayClient
    /// How long an order is reused before a new one is made (`PAYMENT_ORDER_TTL_MINUTES`, default 30).
    public let orderTTL: Duration
    private let logger: Logger

    public init(ledger: PaymentLedger, gateway: RazorpayClient, orderTTL: Duration = .seconds(1800), logger: Logger) {
        self.ledger = ledger
        self.gateway = gateway
        self.orderTTL = orderTTL
        self.logger = logger
    }

    // MARK: Orders

    /// The order a booking is paid with.
    public struct OpenOrder: Sendable, Equatable {
        public var orderID: String
        public var amountPaise: Int64
        public var reused: Bool
    }

    /// Why a booking cannot be paid.
    public enum NotPayable: Error, Sendable, Equatable {
        case notFound
        case notPending(status: BookingStatus)
        case holdExpired
        case free
    }

    /// The booking's live order, or a new one (one live order per booking; a new one only once it expired).
    /// The receipt `bk_<booking>_<n>` makes creating it idempotent: two racing calls get the same order.
    public func openOrder(booking id: UUID, user: UUID, now: Date = Date()) async throws -> OpenOrder {
        guard let booking = try await ledger.booking(id, user: user) else { throw NotPayable.notFound }
        // A hold past its expiry is `holdExpired` whether or not the sweeper has cancelled it yet (the sweeper keeps
        // hold_expires_at on the bookings it cancels; every other cancellation clears it).
        if let hold = booking.holdExpiresAt, hold <= now, booking.status == .pending || booking.status == .cancelled {
            throw NotPayable.holdExpired
        }
        guard booking.status == .pending else { throw NotPayable.notPending(status: booking.status) }
        guard booking.amountPaise > 0 else { throw NotPayable.free }
        let (live, count) = try await ledger.latestOrder(booking: id, ttl: orderTTL)
        if let live { return OpenOrder(orderID: live, amountPaise: booking.amountPaise, reused: true) }
        let receipt = "bk_\(id.uuidString.replacingOccurrences(of: "-", with: "").lowercased())_\(count + 1)"
        let order = try await gateway.createOrder(
            amount: booking.amountPaise, receipt: receipt,
            notes: ["booking_id": id.lowercasedText, "user_id": user.lowercasedText])
        try await ledger.recordOrder(booking: id, orderID: order.id, amountPaise: order.amount)
        return OpenOrder(orderID: order.id, amountPaise: order.amount, reused: false)
    }

    // MARK: Captures

    /// What became of a payment.
    public enum Settlement: Sendable, Equatable {
        case confirmed(booking: UUID, event: UUID)
        /// The booking was not pending any more; the payment is being refunded (`refundID` nil until the gateway took it).
        case refunding(booking: UUID, bookingStatus: BookingStatus, refundID: String?, refundStatus: String)
        /// Seen before; nothing changed.
        case alreadySettled(refunding: Bool)
    }

    /// Why a payment was not accepted.
    public enum Rejected: Error, Sendable, Equatable {
        case badSignature
        case unknownOrder
        case notCaptured(status: String)
        case mismatch
    }

    /// `verify-payment`: the checkout signature, the order belonging to `user`, the payment captured at the
    /// gateway for that order; then the booking is settled.
    public func verify(orderID: String, paymentID: String, signature: String, user: UUID) async throws -> Settlement {
        guard
            RazorpaySignature.isValidCheckout(
                orderID: orderID, paymentID: paymentID, signature: signature,
                keySecret: gateway.configuration.keySecret)
        else { throw Rejected.badSignature }
        guard let order = try await ledger.order(orderID), order.userID == user else { throw Rejected.unknownOrder }
        let payment = try await gateway.fetchPayment(paymentID)
        guard payment.order_id == orderID else { throw Rejected.mismatch }
        guard payment.status == "captured" || payment.status == "refunded" else { throw Rejected.notCaptured(status: payment.status) }
        return try await settle(orderID: orderID, paymentID: paymentID, amountPaise: payment.amount)
    }

    /// Records a capture and, when the booking can no longer take it, refunds it at once.
    public func settle(orderID: String, paymentID: String, amountPaise: Int64) async throws -> Settlement {
        switch try await ledger.settleCapture(orderID: orderID, paymentID: paymentID, amountPaise: amountPaise) {
        case .unknownOrder: throw Rejected.unknownOrder
        case .confirmed(let booking, let event): return .confirmed(booking: booking, event: event)
        case .alreadySettled(let refunding): return .alreadySettled(refunding: refunding)
        case .refundOwed(let row, let booking, let bookingStatus):
            logger.info(
                "payment arrived for a booking that is no longer pending; refunding", metadata: ["order": "\(orderID)", "booking_status": "\(bookingStatus)"])
            guard let due = try await ledger.refundDue(row) else {
                return .refunding(booking: booking, bookingStatus: bookingStatus, refundID: nil, refundStatus: "pending")
            }
            // The gateway may be down: the intent is recorded, and the reconcile pass issues the refund later.
            let issued = try? await issue(due)
            return .refunding(booking: due.bookingID, bookingStatus: bookingStatus, refundID: issued?.refundID, refundStatus: issued?.status ?? "pending")
        }
    }

    // MARK: Refunds

    /// Issues one owed refund at the gateway and records what it said. A failure leaves the intent for the
    /// reconcile pass (the same receipt, sent as `X-Refund-Idempotency`, makes the retry idempotent). When the
    /// gateway says the payment is refunded already (a refund made by an attempt whose answer was lost), the
    /// existing refund of that amount is recorded instead.
    @discardableResult
    public func issue(_ due: PaymentLedger.RefundDue) async throws -> (refundID: String, status: String) {
        let refund: RazorpayRefund
        do {
            refund = try await gateway.createRefund(
                paymentID: due.paymentID, amount: due.amountPaise, receipt: due.receipt,
                notes: ["booking_id": due.bookingID.lowercasedText])
        } catch let error as RazorpayError where error.saysAlreadyRefunded {
            guard let existing = try await gateway.refunds(ofPayment: due.paymentID).first(where: { $0.amount == due.amountPaise && $0.status != "failed" })
            else { throw error }
            logger.info("the payment was refunded already; recording that refund", metadata: ["refund": "\(existing.id)"])
            refund = existing
        }
        try await ledger.recordRefund(paymentRow: due.paymentRow, refundID: refund.id, status: refund.status)
        return (refund.id, RefundState(gatewayState: refund.status).rawValue)
    }

    // MARK: Webhooks

    /// What a webhook delivery amounted to.
    public enum WebhookResult: Sendable, Equatable {
        case processed(String)
        case duplicate
        case ignored(String)
    }

    /// Handles a webhook whose signature was already checked: idempotent per event id.
    public func handleWebhook(eventID: String, body: [UInt8]) async throws -> WebhookResult {
        guard let envelope = try? JSONDecoder().decode(WebhookEnvelope.self, from: Data(body)) else { return .ignored("unreadable body") }
        guard try await ledger.firstDelivery(eventID: eventID, event: envelope.event) else { return .duplicate }
        switch envelope.event {
        case "payment.captured":
            guard let payment = envelope.payload.payment?.entity, let order = payment.order_id else { return .ignored("no payment") }
            do { _ = try await settle(orderID: order, paymentID: payment.id, amountPaise: payment.amount) } catch Rejected.unknownOrder {
                try await ledger.markProcessed(eventID: eventID)
                return .ignored("not our order")
            }
        case "payment.failed":
            if let order = envelope.payload.payment?.entity.order_id { try await ledger.markFailed(orderID: order) }
        case "refund.processed", "refund.failed":
            guard let refund = envelope.payload.refund?.entity else { return .ignored("no refund") }
            try await ledger.updateRefund(refundID: refund.id, status: refund.status)
        case "payout.processed", "payout.failed", "payout.reversed", "payout.rejected":
            guard let payout = envelope.payload.payout?.entity else { return .ignored("no payout") }
            try await PayoutService.recordOutcome(ledger.postgres, gatewayID: payout.id, status: payout.status, failureReason: payout.failure_reason)
        default:
            try await ledger.markProcessed(eventID: eventID)
            return .ignored(envelope.event)
        }
        try await ledger.markProcessed(eventID: eventID)
        return .processed(envelope.event)
    }

    struct WebhookEnvelope: Decodable {
        struct Entity<T: Decodable>: Decodable { let entity: T }
        struct Payload: Decodable {
            let payment: Entity<RazorpayPayment>?
            let refund: Entity<RazorpayRefund>?
            let payout: Entity<RazorpayPayout>?
        }
        let event: String
        let payload: Payload
    }

    // MARK: Reconciliation

    /// What one reconcile pass did.
    public struct ReconcileReport: Sendable, Equatable {
        public var refundsIssued = 0
        public var refundsUpdated = 0
        public var capturesFound = 0
        public var failures = 0
        public init() {}
    }

    /// Finishes what a crash, a timeout or a lost webhook left open: owed refunds not yet issued (and failed
    /// ones, with a new attempt), refunds the gateway has not reported on, and open orders that were paid.
    /// A pass stops at the first call the gateway does not answer at all (it is down; the next pass tries again).
    public func reconcile(minimumAge: Duration = .seconds(10)) async throws -> ReconcileReport {
        var report = ReconcileReport()
        /// Counts and logs a failed step; true when the gateway is down (the pass stops), else the row goes to the back.
        func failed(_ step: String, _ error: any Error, touch: () async throws -> Void) async -> Bool {
            report.failures += 1
            logger.warning("reconcile step failed; it is retried on the next pass", metadata: ["step": "\(step)", "error": "\(error)"])
            if case .unavailable? = (error as? RazorpayError)?.kind { return true }
            try? await touch()
            return false
        }
        for due in try await ledger.refundsDue(olderThan: minimumAge) {
            do {
                try await issue(due)
                report.refundsIssued += 1
            } catch {
                if await failed("issue refund", error, touch: { try await ledger.touch(paymentRow: due.paymentRow) }) { return report }
            }
        }
        for refundID in try await ledger.pendingRefunds(olderThan: minimumAge) {
            do {
                let refund = try await gateway.fetchRefund(refundID)
                if refund.status != "pending", try await ledger.updateRefund(refundID: refundID, status: refund.status) {
                    report.refundsUpdated += 1
                } else {
                    try await ledger.touch(refundID: refundID)
                }
            } catch {
                if await failed("fetch refund", error, touch: { try await ledger.touch(refundID: refundID) }) { return report }
            }
        }
        for orderID in try await ledger.openOrders(olderThan: minimumAge) {
            do {
                let payments = try await gateway.payments(ofOrder: orderID)
                if let captured = payments.first(where: { $0.status == "captured" || $0.status == "refunded" }) {
                    _ = try await settle(orderID: orderID, paymentID: captured.id, amountPaise: captured.amount)
                    report.capturesFound += 1
                } else if !payments.isEmpty, payments.allSatisfy({ $0.status == "failed" }) {
                    try await ledger.markFailed(orderID: orderID)
                } else {
                    try await ledger.touch(orderID: orderID)
                }
            } catch {
                if await failed("check order", error, touch: { try await ledger.touch(orderID: orderID) }) { return report }
            }
        }
        return report
    }
}

extension RazorpayError {
    /// Razorpay's 400 for a refund of a payment with nothing left to refund.
    var saysAlreadyRefunded: Bool {
        guard case .rejected(400, _, let message) = kind else { return false }
        return message.contains("fully refunded") || message.contains("greater than amount captured")
    }
}
