import Foundation
import HappeningModel
import HappeningPostgres
import Hummingbird
import Payments

/// Payout routes under `/api/hosts` (the original's paths): payable events, creating a payout (admin), the
/// admin's payout list and a host's own payouts. Amounts in answers are exact rupee strings.
struct PayoutsController: Sendable {
    let payouts: PayoutService
    let payoutRows: PayoutRepository

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("admin/payable-events", use: payable)
        group.post("payouts/create", use: create)
        group.get("admin/payouts", use: adminList)
        group.get("my-payouts", use: mine)
    }

    private static func rupees(_ paise: Int64) -> String { PostgresNumeric(minorUnits: paise, scale: 2).text }

    struct PayableEvent: Encodable {
        let id: String
        let event_title: String
        let host_id: String?
        let host_name: String?
        let total_bookings_count: Int
        let total_revenue: String
        let refunded: String
        let platform_fee: String
        let payout_amount: String

        init(_ s: PayoutService.Settlement) {
            id = s.event_id
            event_title = s.event_title
            host_id = s.host_id
            host_name = s.host_name
            total_bookings_count = s.total_bookings_count
            total_revenue = PayoutsController.rupees(s.gross - s.refunded)
            refunded = PayoutsController.rupees(s.refunded)
            platform_fee = PayoutsController.rupees(s.fee)
            payout_amount = PayoutsController.rupees(s.payout)
        }
    }

    @Sendable func payable(request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        let page = try PageRequest(request.uri.queryParameters.dictionary)
        struct Body: Encodable {
            let events: [PayableEvent]
            let platform_fee_percent: String
        }
        return try context.json(
            Body(
                events: try await payouts.payableEvents(limit: page.limit, offset: page.offset).map(PayableEvent.init),
                platform_fee_percent: PostgresNumeric(minorUnits: payouts.feeBasisPoints, scale: 2).text))
    }

    struct CreateInput: Decodable {
        var event_id: String?
        /// Optional: if sent, it must be the event's host.
        var host_id: String?
        /// Optional: if sent, it must equal the amount the server computes (rupees).
        var amount: EventInput.MoneyInput?
        var notes: String?
    }

    /// Creates the event's payout; the server computes the amount (an `amount` sent must match it).
    @Sendable func create(request: Request, context: AppRequestContext) async throws -> Response {
        let admin = try context.requireAdmin()
        let input = try await request.decodeJSON(as: CreateInput.self, context: context)
        var problems: [String: String] = [:]
        let event = input.event_id.flatMap(UUID.init(uuidString:))
        if event == nil { problems["event_id"] = input.event_id == nil ? "is required" : "must be a UUID" }
        let host = input.host_id.flatMap(UUID.init(uuidString:))
        if input.host_id != nil, host == nil { problems["host_id"] = "must be a UUID" }
        var amount: Int64?
        if let text = input.amount?.text {
            if let value = PostgresNumeric(text), let paise = try? value.minorUnits(scale: 2), paise >= 0 {
                amount = paise
            } else {
                problems["amount"] = "must be an amount in rupees"
            }
        }
        if let notes = input.notes, notes.count > 500 { problems["notes"] = "must be at most 500 characters" }
        guard problems.isEmpty, let event else { throw AppError.validation(problems) }
        do {
            let payout = try await payouts.create(event: event, by: admin.id, notes: input.notes, expectedHost: host, expectedAmount: amount)
            struct Created: Encodable {
                let success: Bool
                let message: String
                let payout: Payout
                struct Payout: Encodable {
                    let id: String
                    let event_id: String
                    let host_id: String?
                    let amount: String
                    let gross_amount: String
                    let refunded_amount: String
                    let fee_amount: String
                    let status: PayoutStatus
                    let razorpay_payout_id: String?
                }
            }
            let s = payout.settlement
            return try context.json(
                Created(
                    success: true, message: payout.razorpayPayoutID == nil ? "Payout recorded; the gateway will be asked again shortly" : "Payout sent",
                    payout: .init(
                        id: payout.id.lowercasedText, event_id: s.event_id, host_id: s.host_id, amount: Self.rupees(s.payout),
                        gross_amount: Self.rupees(s.gross), refunded_amount: Self.rupees(s.refunded), fee_amount: Self.rupees(s.fee),
                        status: payout.status, razorpay_payout_id: payout.razorpayPayoutID)))
        } catch let refused as PayoutService.Refused {
            switch refused {
            case .eventNotFound: throw AppError.notFound("Event not found", code: "event_not_found")
            case .notPayable(let why): throw AppError.unprocessable("This event cannot be paid out: \(why)", code: "event_not_payable")
            case .hostMismatch: throw AppError.badRequest("host_id is not this event's host", code: "host_mismatch")
            case .hostNotEligible:
                throw AppError.unprocessable("The host is not approved or has no payout-eligible bank account", code: "host_not_payout_eligible")
            case .alreadyPaid: throw AppError.conflict("This event has already been paid out", code: "payout_exists")
            case .amountMismatch(let computed):
                throw AppError(
                    status: .badRequest, code: "amount_mismatch", message: "The payout amount is computed by the server",
                    details: ["amount": "must be \(Self.rupees(computed)) (revenue - refunds - platform fee) or left out"])
            }
        }
    }

    @Sendable func adminList(request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        let query = request.uri.queryParameters.dictionary
        let page = try PageRequest(query)
        if let status = query["status"], PayoutStatus(rawValue: status) == nil {
            throw AppError.validation(["status": "must be one of \(PayoutStatus.allCases.map(\.rawValue).joined(separator: ", "))"])
        }
        let host = try query["host_id"].map { text -> UUID in
            guard let id = UUID(uuidString: text) else { throw AppError.validation(["host_id": "must be a UUID"]) }
            return id
        }
        let payouts = try await payoutRows.list(status: query["status"], host: host, page: page)
        struct Body: Encodable {
            let payouts: [PayoutRepository.PayoutRow]
            let total: Int
        }
        return try context.json(Body(payouts: payouts, total: payouts.count))
    }

    @Sendable func mine(request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let page = try PageRequest(request.uri.queryParameters.dictionary)
        let payouts = try await payoutRows.mine(user.id, page: page)
        struct Body: Encodable {
            let payouts: [PayoutRepository.PayoutRow]
            let total_amount: String
        }
        return try context.json(Body(payouts: payouts, total_amount: try await payoutRows.totalPaid(to: user.id)))
    }
}
