import Foundation
import HappeningModel
import HappeningPostgres

/// What the payment routes show: a booking's payment and where an order's refund stands.
extension PaymentLedger {
    /// Where an order's booking and its refund stand.
    public struct OrderState: Sendable {
        public let bookingStatus: BookingStatus
        public let refundID: String?
        public let refundStatus: String?
    }

    /// The booking and refund state of order `orderID`; nil when no payment row carries it.
    public func orderState(_ orderID: String) async throws -> OrderState? {
        let rows = try await postgres.query(
            """
            SELECT b.status::text, p.refund_id, p.refund_status::text FROM payments p JOIN bookings b ON b.id = p.booking_id
            WHERE p.payment_intent_id = $1
            """, [orderID])
        return try rows.first.map { row in
            OrderState(bookingStatus: try row.decode(0), refundID: try row.decode(1, as: String?.self), refundStatus: try row.decode(2, as: String?.self))
        }
    }

    /// A booking's most relevant payment (amounts as exact rupee text).
    public struct PaymentView: Sendable {
        public let orderID: String
        public let paymentID: String?
        public let amount: String
        public let currency: String
        public let status: String
        public let refundID: String?
        public let refundStatus: String?
        public let refundAmount: String?
        public let createdAt: Date
        public let updatedAt: Date
        public let bookingStatus: BookingStatus
        /// Payment rows (orders) the booking has had.
        public let attempts: Int
    }

    /// The booking's kept capture, else its newest payment row, when `user` owns the booking; nil otherwise.
    public func payment(booking: UUID, user: UUID) async throws -> PaymentView? {
        let rows = try await postgres.query(
            """
            SELECT p.payment_intent_id, p.razorpay_payment_id, p.amount::text, p.currency, p.status::text, p.refund_id,
                   p.refund_status::text, p.refund_amount::text, p.created_at, p.updated_at, b.status::text,
                   count(*) OVER ()
            FROM payments p JOIN bookings b ON b.id = p.booking_id
            WHERE p.booking_id = $1 AND b.user_id = $2
            ORDER BY (p.status = 'captured' AND p.refund_status IS NULL) DESC, p.created_at DESC LIMIT 1
            """, [booking, user])
        return try rows.first.map { row in
            PaymentView(
                orderID: try row.decode(0), paymentID: try row.decode(1, as: String?.self), amount: try row.decode(2), currency: try row.decode(3),
                status: try row.decode(4), refundID: try row.decode(5, as: String?.self), refundStatus: try row.decode(6, as: String?.self),
                refundAmount: try row.decode(7, as: String?.self), createdAt: try row.decode(8), updatedAt: try row.decode(9),
                bookingStatus: try row.decode(10), attempts: Int(try row.decode(11, as: Int64.self)))
        }
    }
}
