import Foundation
import HappeningModel
import HappeningPostgres
import Hummingbird
import Payments
import Razorpay

/// `/api/payments`: orders for the caller's pending bookings, checkout verification, the payment status of a
/// booking, and Razorpay's webhook (no token: its signature is the proof).
struct PaymentsController: Sendable {
    let payments: PaymentService

    func addRoutes(signedIn: RouterGroup<AppRequestContext>, public group: RouterGroup<AppRequestContext>) {
        signedIn.post("create-order", use: openOrder)
        signedIn.post("resume-order", use: openOrder)
        signedIn.post("verify-payment", use: verify)
        signedIn.get("status/:booking_id", use: status)
        group.post("webhook", use: webhook)
    }

    struct OrderInput: Decodable { var booking_id: String? }

    struct OrderOutput: Encodable {
        let order_id: String
        /// Paise, as Razorpay Checkout wants it.
        let amount: Int64
        let currency: String
        let key_id: String
        let booking_id: String
        /// True when the booking's live order was handed out again.
        let reused: Bool
        /// True when the offline gateway stands in for Razorpay.
        let simulated: Bool
    }

    /// `create-order` and `resume-order` (the same thing: one live order per booking, reused).
    @Sendable func openOrder(request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let input = try await request.decodeJSON(as: OrderInput.self, context: context)
        guard let text = input.booking_id, let booking = UUID(uuidString: text) else {
            throw AppError.validation(["booking_id": input.booking_id == nil ? "is required" : "must be a UUID"])
        }
        do {
            let order = try await payments.openOrder(booking: booking, user: user.id)
            let configuration = payments.gateway.configuration
            return try context.json(
                OrderOutput(
                    order_id: order.orderID, amount: order.amountPaise, currency: "INR", key_id: configuration.keyID,
                    booking_id: booking.lowercasedText, reused: order.reused, simulated: configuration.isSimulated))
        } catch let problem as PaymentService.NotPayable {
            switch problem {
            case .notFound: throw AppError.notFound("Booking not found", code: "booking_not_found")
            case .notPending(let status):
                throw AppError.unprocessable("Only a pending booking can be paid; this one is \(status.rawValue)", code: "booking_not_pending")
            case .holdExpired: throw AppError.unprocessable("The hold on these tickets has expired; book again", code: "hold_expired")
            case .free: throw AppError.unprocessable("This booking costs nothing; there is nothing to pay", code: "nothing_to_pay")
            }
        }
    }

    struct VerifyInput: Decodable {
        var razorpay_order_id: String?
        var razorpay_payment_id: String?
        var razorpay_signature: String?
    }

    struct Verified: Encodable {
        let success: Bool
        let message: String
        let payment_id: String
        let booking_id: String
        let booking_status: BookingStatus
    }

    /// Checks the signature, that the order is one of the caller's bookings and that the gateway captured the
    /// payment; then pending → confirmed, or (booking no longer pending) an automatic refund, said in the answer.
    @Sendable func verify(request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let input = try await request.decodeJSON(as: VerifyInput.self, context: context)
        var validator = Validator()
        let order = validator.require(input.razorpay_order_id, "razorpay_order_id", maxLength: 64)
        let payment = validator.require(input.razorpay_payment_id, "razorpay_payment_id", maxLength: 64)
        let signature = validator.require(input.razorpay_signature, "razorpay_signature", maxLength: 128)
        try validator.check()
        let settlement: PaymentService.Settlement
        do {
            settlement = try await payments.verify(orderID: order, paymentID: payment, signature: signature, user: user.id)
        } catch let rejected as PaymentService.Rejected {
            switch rejected {
            case .badSignature: throw AppError.badRequest("The payment signature does not match", code: "invalid_signature")
            case .unknownOrder: throw AppError.notFound("No order of yours has this id", code: "order_not_found")
            case .mismatch: throw AppError.badRequest("The payment does not belong to this order", code: "payment_order_mismatch")
            case .notCaptured(let status):
                throw AppError.conflict("The payment is \(status), not captured yet; try again shortly", code: "payment_not_captured")
            }
        }
        guard let record = try await payments.ledger.order(order) else { throw AppError.notFound("No order of yours has this id", code: "order_not_found") }
        switch settlement {
        case .confirmed, .alreadySettled(refunding: false):
            return try context.json(
                Verified(
                    success: true, message: "Payment verified; booking confirmed", payment_id: payment,
                    booking_id: record.bookingID.lowercasedText, booking_status: .confirmed))
        case .refunding(_, let bookingStatus, let refundID, let refundStatus):
            throw refundingError(bookingStatus: bookingStatus, refundID: refundID, refundStatus: refundStatus)
        case .alreadySettled(refunding: true):
            let state = try await payments.ledger.orderState(order)
            throw refundingError(bookingStatus: state?.bookingStatus ?? .cancelled, refundID: state?.refundID, refundStatus: state?.refundStatus ?? "pending")
        }
    }

    private func refundingError(bookingStatus: BookingStatus, refundID: String?, refundStatus: String) -> AppError {
        var details = ["booking_status": bookingStatus.rawValue, "refund_status": refundStatus]
        if let refundID { details["refund_id"] = refundID }
        return AppError(
            status: .conflict, code: "payment_refunded",
            message: "The booking was \(bookingStatus.rawValue) before the payment arrived, so the payment is being refunded in full",
            details: details)
    }

    struct PaymentStatus: Encodable {
        struct Payment: Encodable {
            let order_id: String
            let razorpay_payment_id: String?
            let amount: String
            let currency: String
            let status: String
            let refund_id: String?
            let refund_status: String?
            let refund_amount: String?
            let created_at: Date
            let updated_at: Date
            let booking_status: BookingStatus
        }
        let payment: Payment
        let attempts: Int
    }

    /// The booking's most relevant payment row (a kept capture, else the newest), for its owner.
    @Sendable func status(request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let booking = try context.uuidParameter("booking_id")
        guard let row = try await payments.ledger.payment(booking: booking, user: user.id) else {
            throw AppError.notFound("No payment for this booking", code: "payment_not_found")
        }
        return try context.json(
            PaymentStatus(
                payment: .init(
                    order_id: row.orderID, razorpay_payment_id: row.paymentID, amount: row.amount, currency: row.currency, status: row.status,
                    refund_id: row.refundID, refund_status: row.refundStatus, refund_amount: row.refundAmount,
                    created_at: row.createdAt, updated_at: row.updatedAt, booking_status: row.bookingStatus),
                attempts: row.attempts))
    }

    /// Razorpay's webhook: the signature over the raw body, then idempotent per `X-Razorpay-Event-Id`.
    @Sendable func webhook(request: Request, context: AppRequestContext) async throws -> Response {
        let body = Array(try await request.body.collect(upTo: context.maxUploadSize).readableBytesView)
        guard let signature = request.headers[.init("X-Razorpay-Signature")!],
            RazorpaySignature.isValidWebhook(body: body, signature: signature, webhookSecret: payments.gateway.configuration.webhookSecret)
        else {
            throw AppError.badRequest("The webhook signature does not match", code: "invalid_signature")
        }
        guard let eventID = request.headers[.init("X-Razorpay-Event-Id")!], !eventID.isEmpty, eventID.count <= 100 else {
            throw AppError.badRequest("X-Razorpay-Event-Id is required", code: "missing_event_id")
        }
        struct Outcome: Encodable {
            let status: String
            let event: String?
        }
        switch try await payments.handleWebhook(eventID: eventID, body: body) {
        case .processed(let event): return try context.json(Outcome(status: "processed", event: event))
        case .duplicate: return try context.json(Outcome(status: "duplicate", event: nil))
        case .ignored(let why): return try context.json(Outcome(status: "ignored", event: why))
        }
    }
}
