import Foundation
import HappeningModel
import HappeningPostgres
import Hummingbird
import Logging
import Payments
import Razorpay

/// `/api/cancellations`: cancel a booking (with its refund), a refund's status, the caller's cancellable bookings.
struct CancellationsController: Sendable {
    let cancellations: CancellationService
    let bookings: BookingRepository
    let cache: ReadCache

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post(":booking_id/cancel", use: cancel)
        group.get("refund-status/:refund_id", use: refundStatus)
        group.get("my-cancellable", use: cancellable)
    }

    struct Cancelled: Encodable {
        let message: String
        let booking_id: String
        let refund_id: String?
        let refund_status: String?
        /// Rupees, exact.
        let refund_amount: String?
    }

    @Sendable func cancel(request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let booking = try context.uuidParameter("booking_id")
        switch try await cancellations.cancelBooking(booking, user: user.id) {
        case .notFound:
            throw AppError.notFound("Booking not found", code: "booking_not_found")
        case .notCancellable(let status):
            throw AppError.conflict("Only a pending or confirmed booking can be cancelled; this one is \(status.rawValue)", code: "booking_not_cancellable")
        case .tooLate(let startsAt):
            throw AppError(
                status: .unprocessableContent, code: "too_late_to_cancel",
                message:
                    "Bookings can be cancelled up to 24 hours before the event starts; this event starts at \(ISO8601DateFormatter().string(from: startsAt))",
                details: ["event_starts_at": ISO8601DateFormatter().string(from: startsAt), "minimum_notice_hours": "24"])
        case .cancelled(let event, let refund):
            cache.ticketsLeftChanged([event])
            let message =
                refund == nil
                ? "Booking cancelled; nothing was paid, so nothing is refunded"
                : refund?.refundID == nil
                    ? "Booking cancelled; the full refund is queued and will be issued shortly"
                    : "Booking cancelled; a full refund has been issued"
            return try context.json(
                Cancelled(
                    message: message, booking_id: booking.lowercasedText, refund_id: refund?.refundID, refund_status: refund?.status,
                    refund_amount: refund.map { PostgresNumeric(minorUnits: $0.amountPaise, scale: 2).text }))
        }
    }

    struct RefundStatus: Encodable {
        let refund_id: String
        let status: String
        let amount: String
        /// `gateway` when just asked, `stored` when the gateway did not answer.
        let source: String
    }

    /// The refund's state, asked of the gateway (and stored when it changed); the stored one if the gateway is down.
    @Sendable func refundStatus(request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        guard let refundID = context.parameters.get("refund_id"), !refundID.isEmpty, refundID.count <= 64 else {
            throw AppError.badRequest("refund_id is malformed", code: "invalid_id")
        }
        let ledger = cancellations.payments.ledger
        guard let stored = try await ledger.refund(refundID, user: user.id) else { throw AppError.notFound("Refund not found", code: "refund_not_found") }
        var status = stored.status
        var source = "stored"
        do {
            let refund = try await cancellations.payments.gateway.fetchRefund(refundID)
            if refund.status != "pending", refund.status != stored.status { try await ledger.updateRefund(refundID: refundID, status: refund.status) }
            status = refund.status == "pending" ? "pending" : refund.status
            source = "gateway"
        } catch let error as RazorpayError {
            context.logger.warning("refund status from the database; the gateway did not answer", metadata: ["error": "\(error)"])
        }
        return try context.json(
            RefundStatus(refund_id: refundID, status: status, amount: PostgresNumeric(minorUnits: stored.amountPaise, scale: 2).text, source: source))
    }

    /// Confirmed bookings whose event starts more than 24 h from now.
    @Sendable func cancellable(request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let page = try PageRequest(request.uri.queryParameters.dictionary)
        struct Body: Encodable { let cancellableBookings: [BookingRepository.Cancellable] }
        return try context.json(Body(cancellableBookings: try await bookings.cancellable(user.id, page: page)))
    }
}
