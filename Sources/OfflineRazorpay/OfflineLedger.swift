import Foundation
import Razorpay
import Synchronization

/// Everything the offline gateway remembers, in memory: orders, payments, refunds, payouts and their
/// idempotency keys. One lock; every method is a short critical section.
final class OfflineLedger: Sendable {
    private struct State {
        var orders: [String: RazorpayOrder] = [:]
        var orderByReceipt: [String: String] = [:]
        var payments: [String: RazorpayPayment] = [:]
        var paymentsByOrder: [String: [String]] = [:]
        var refunds: [String: RazorpayRefund] = [:]
        /// `X-Refund-Idempotency` key → the refund it made and the request it was made for.
        var refundByKey: [String: (refund: String, request: String)] = [:]
        var payouts: [String: RazorpayPayout] = [:]
        var payoutByKey: [String: String] = [:]
        var counter: UInt64 = 0
    }

    private let state = Mutex(State())

    /// `order_…`, `pay_…`: Razorpay-looking ids, unique per gateway run.
    private static func makeID(_ prefix: String, _ counter: UInt64) -> String {
        let random = (0..<10).map { _ in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".randomElement()! }
        return "\(prefix)_\(String(counter, radix: 36))\(String(random))"
    }

    private static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    /// A new order; with `uniqueReceipt` (Razorpay's `unique_receipt: true`) the existing one with the same receipt, as
    /// at Razorpay: without it every call is a new order, whatever its receipt.
    func createOrder(amount: Int64, currency: String, receipt: String, uniqueReceipt: Bool, notes: [String: String]) -> RazorpayOrder {
        state.withLock { state in
            if uniqueReceipt, let existing = state.orderByReceipt[receipt], let order = state.orders[existing] { return order }
            state.counter += 1
            let order = RazorpayOrder(
                id: Self.makeID("order", state.counter), entity: "order", amount: amount, amount_paid: 0, amount_due: amount,
                currency: currency, receipt: receipt, status: "created", notes: notes, created_at: Self.now)
            state.orders[order.id] = order
            state.orderByReceipt[receipt] = order.id
            return order
        }
    }

    func order(_ id: String) -> RazorpayOrder? { state.withLock { $0.orders[id] } }
    func payment(_ id: String) -> RazorpayPayment? { state.withLock { $0.payments[id] } }
    func refund(_ id: String) -> RazorpayRefund? { state.withLock { $0.refunds[id] } }
    func payout(_ id: String) -> RazorpayPayout? { state.withLock { $0.payouts[id] } }
    func refunds(ofPayment id: String) -> [RazorpayRefund] {
        state.withLock { state in state.refunds.values.filter { $0.payment_id == id }.sorted { $0.id < $1.id } }
    }
    func payments(ofOrder id: String) -> [RazorpayPayment] {
        state.withLock { state in (state.paymentsByOrder[id] ?? []).compactMap { state.payments[$0] } }
    }

    /// A checkout attempt on an order: `captured` (the order becomes paid), `authorized` or `failed`.
    func pay(orderID: String, outcome: String, method: String) -> RazorpayPayment? {
        state.withLock { state in
            guard var order = state.orders[orderID] else { return nil }
            state.counter += 1
            let captured = outcome == "captured"
            let payment = RazorpayPayment(
                id: Self.makeID("pay", state.counter), entity: "payment", amount: order.amount, currency: order.currency, status: outcome,
                order_id: orderID, method: method, captured: captured, amount_refunded: 0, refund_status: nil,
                error_code: outcome == "failed" ? "BAD_REQUEST_ERROR" : nil,
                error_description: outcome == "failed" ? "Payment was declined by the bank (simulated)" : nil,
                notes: order.notes, created_at: Self.now)
            state.payments[payment.id] = payment
            state.paymentsByOrder[orderID, default: []].append(payment.id)
            order.status = captured ? "paid" : "attempted"
            if captured {
                order.amount_paid = order.amount
                order.amount_due = 0
            }
            state.orders[orderID] = order
            return payment
        }
    }

    enum RefundOutcome {
        case created(RazorpayRefund)
        case existing(RazorpayRefund)
        case noPayment, notCaptured, exceeds, fullyRefunded
        /// The idempotency key was used before for another request.
        case keyReused
    }

    /// A refund of a captured payment. As at Razorpay, only an `X-Refund-Idempotency` key makes a retry safe: the
    /// same key with the same request returns the refund it made, with another request it is refused; without a key
    /// every call is a new refund (the receipt is a label).
    func refund(paymentID: String, amount: Int64, receipt: String?, notes: [String: String], idempotencyKey: String?) -> RefundOutcome {
        state.withLock { state in
            let request = "\(paymentID)|\(amount)|\(receipt ?? "")"
            if let key = idempotencyKey, let existing = state.refundByKey[key] {
                guard existing.request == request, let refund = state.refunds[existing.refund] else { return .keyReused }
                return .existing(refund)
            }
            guard var payment = state.payments[paymentID] else { return .noPayment }
            guard payment.captured else { return .notCaptured }
            if payment.amount_refunded >= payment.amount { return .fullyRefunded }
            guard amount > 0, payment.amount_refunded + amount <= payment.amount else { return .exceeds }
            state.counter += 1
            let refund = RazorpayRefund(
                id: Self.makeID("rfnd", state.counter), entity: "refund", amount: amount, currency: payment.currency,
                payment_id: paymentID, receipt: receipt, status: "pending", speed_processed: "normal",
                notes: notes, created_at: Self.now)
            payment.amount_refunded += amount
            payment.refund_status = payment.amount_refunded == payment.amount ? "full" : "partial"
            if payment.amount_refunded == payment.amount { payment.status = "refunded" }
            state.payments[paymentID] = payment
            state.refunds[refund.id] = refund
            if let key = idempotencyKey { state.refundByKey[key] = (refund.id, request) }
            return .created(refund)
        }
    }

    /// Moves a refund to its final state (`processed` or `failed`); a failed refund gives the amount back to the payment.
    func settleRefund(_ id: String, status: String) -> RazorpayRefund? {
        state.withLock { state in
            guard var refund = state.refunds[id], refund.status == "pending" else { return nil }
            refund.status = status
            state.refunds[id] = refund
            if status == "failed", var payment = state.payments[refund.payment_id] {
                payment.amount_refunded -= refund.amount
                payment.refund_status = payment.amount_refunded == 0 ? nil : "partial"
                if payment.status == "refunded" { payment.status = "captured" }
                state.payments[payment.id] = payment
            }
            return refund
        }
    }

    /// A payout, or the one already made with the same idempotency key.
    func createPayout(
        amount: Int64, mode: String, purpose: String, referenceID: String?, narration: String?, notes: [String: String],
        idempotencyKey: String?
    ) -> RazorpayPayout {
        state.withLock { state in
            if let key = idempotencyKey, let existing = state.payoutByKey[key], let payout = state.payouts[existing] { return payout }
            state.counter += 1
            let payout = RazorpayPayout(
                id: Self.makeID("pout", state.counter), entity: "payout", amount: amount, currency: "INR", status: "processing",
                mode: mode, purpose: purpose, reference_id: referenceID, narration: narration, failure_reason: nil,
                utr: nil, notes: notes, created_at: Self.now)
            state.payouts[payout.id] = payout
            if let key = idempotencyKey { state.payoutByKey[key] = payout.id }
            return payout
        }
    }

    /// Moves a processing payout to `processed` (with a UTR) or `failed`.
    func settlePayout(_ id: String, status: String) -> RazorpayPayout? {
        state.withLock { state in
            guard var payout = state.payouts[id], payout.status == "processing" else { return nil }
            payout.status = status
            if status == "processed" {
                payout.utr = "SIMUTR\(String(state.counter, radix: 10))"
            } else {
                payout.failure_reason = "Beneficiary bank rejected (simulated)"
            }
            state.payouts[id] = payout
            return payout
        }
    }
}
