import Foundation
import Hummingbird
import Razorpay

/// The slice of Razorpay's API the server uses, answered from the ledger: `/v1/orders`, `/v1/payments`,
/// `/v1/refunds`, `/v1/payouts`. Basic authentication with the configured key pair, Razorpay's error shape.
struct RazorpayRoutes: Sendable {
    let ledger: OfflineLedger
    let webhooks: WebhookSender
    /// How long a refund or payout stays pending/processing before it settles.
    let settleDelay: Duration

    func add(to router: Router<BasicRequestContext>) {
        let v1 = router.group("v1")
        v1.post("orders", use: createOrder)
        v1.get("orders/:id") { _, context in try found(ledger.order(try context.parameters.require("id")), "order") }
        v1.get("orders/:id/payments") { _, context in
            let items = ledger.payments(ofOrder: try context.parameters.require("id"))
            return try json(Collection(entity: "collection", count: items.count, items: items))
        }
        v1.get("payments/:id") { _, context in try found(ledger.payment(try context.parameters.require("id")), "payment") }
        v1.post("payments/:id/refund", use: createRefund)
        v1.get("payments/:id/refunds") { _, context in
            let items = ledger.refunds(ofPayment: try context.parameters.require("id"))
            return try json(Collection(entity: "collection", count: items.count, items: items))
        }
        v1.get("refunds/:id") { _, context in try found(ledger.refund(try context.parameters.require("id")), "refund") }
        v1.post("payouts", use: createPayout)
        v1.get("payouts/:id") { _, context in try found(ledger.payout(try context.parameters.require("id")), "payout") }
    }

    struct Collection<Item: Encodable>: Encodable {
        let entity: String
        let count: Int
        let items: [Item]
    }

    @Sendable func createOrder(request: Request, context: BasicRequestContext) async throws -> Response {
        struct Body: Decodable {
            let amount: Int64
            let currency: String?
            let receipt: String?
            let unique_receipt: Bool?
            let notes: [String: String]?
        }
        let body = try await decode(Body.self, request, context)
        guard body.amount >= 100 else { return badRequest("Order amount less than minimum amount allowed", field: "amount") }
        guard let receipt = body.receipt, !receipt.isEmpty, receipt.count <= 40 else {
            return badRequest("receipt is required (at most 40 characters)", field: "receipt")
        }
        return try json(
            ledger.createOrder(
                amount: body.amount, currency: body.currency ?? "INR", receipt: receipt, uniqueReceipt: body.unique_receipt ?? false, notes: body.notes ?? [:]))
    }

    @Sendable func createRefund(request: Request, context: BasicRequestContext) async throws -> Response {
        struct Body: Decodable {
            let amount: Int64?
            let receipt: String?
            let notes: [String: String]?
        }
        let body = try await decode(Body.self, request, context)
        let paymentID = try context.parameters.require("id")
        guard let payment = ledger.payment(paymentID) else { return notFound("payment") }
        let key = request.headers[.init("X-Refund-Idempotency")!]
        if let key, key.count < 10 || !key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) {
            return badRequest("The idempotency key must be at least 10 characters of letters, digits, hyphens and underscores", field: "X-Refund-Idempotency")
        }
        switch ledger.refund(
            paymentID: paymentID, amount: body.amount ?? (payment.amount - payment.amount_refunded),
            receipt: body.receipt, notes: body.notes ?? [:], idempotencyKey: key)
        {
        case .existing(let refund):
            return try json(refund)
        case .created(let refund):
            settleLater {
                ledger.settleRefund(refund.id, status: "processed")
            } emit: { refund in
                webhooks.emit("refund.\(refund.status)", payload: ["refund": refund, "payment": ledger.payment(refund.payment_id)])
            }
            return try json(refund)
        case .noPayment: return notFound("payment")
        case .notCaptured: return badRequest("The payment has not been captured", field: "id")
        case .exceeds: return badRequest("The refund amount provided is greater than amount captured", field: "amount")
        case .fullyRefunded: return badRequest("The payment has been fully refunded already", field: "id")
        case .keyReused: return badRequest("Different request with the same idempotency key has already been processed.", field: "X-Refund-Idempotency")
        }
    }

    @Sendable func createPayout(request: Request, context: BasicRequestContext) async throws -> Response {
        struct Body: Decodable {
            struct FundAccount: Decodable {
                struct BankAccount: Decodable {
                    let name: String
                    let ifsc: String
                    let account_number: String
                }
                let bank_account: BankAccount
            }
            let amount: Int64
            let mode: String?
            let purpose: String?
            let fund_account: FundAccount
            let reference_id: String?
            let narration: String?
            let notes: [String: String]?
        }
        let body = try await decode(Body.self, request, context)
        guard body.amount >= 100 else { return badRequest("Minimum transaction amount should be 100 paise", field: "amount") }
        let ifsc = body.fund_account.bank_account.ifsc
        guard ifsc.count == 11, ifsc.wholeMatch(of: /[A-Z]{4}0[A-Z0-9]{6}/) != nil else { return badRequest("Invalid IFSC Code", field: "ifsc") }
        let payout = ledger.createPayout(
            amount: body.amount, mode: body.mode ?? "IMPS", purpose: body.purpose ?? "payout", referenceID: body.reference_id,
            narration: body.narration, notes: body.notes ?? [:], idempotencyKey: request.headers[.init("X-Payout-Idempotency")!])
        if payout.status == "processing" {
            settleLater {
                ledger.settlePayout(payout.id, status: "processed")
            } emit: { payout in
                webhooks.emit("payout.\(payout.status)", payload: ["payout": payout])
            }
        }
        return try json(payout)
    }

    /// Settles something after `settleDelay`, then emits its webhook.
    private func settleLater<T: Sendable>(_ settle: @escaping @Sendable () -> T?, emit: @escaping @Sendable (T) -> Void) {
        let delay = settleDelay
        Task {
            try? await Task.sleep(for: delay)
            if let settled = settle() { emit(settled) }
        }
    }
}

// MARK: Razorpay-shaped responses

func json(_ value: some Encodable) throws -> Response {
    Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(value))))
}

func razorpayError(_ status: HTTPResponse.Status, code: String, _ description: String, field: String? = nil) -> Response {
    var detail: [String: String] = ["code": code, "description": description]
    if let field { detail["field"] = field }
    let body = (try? JSONSerialization.data(withJSONObject: ["error": detail], options: [.sortedKeys])) ?? Data()
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
}

func badRequest(_ description: String, field: String) -> Response {
    razorpayError(.badRequest, code: "BAD_REQUEST_ERROR", description, field: field)
}

func notFound(_ entity: String) -> Response {
    razorpayError(.badRequest, code: "BAD_REQUEST_ERROR", "The id provided does not exist", field: "id")
}

func found(_ value: (some Encodable)?, _ entity: String) throws -> Response {
    guard let value else { return notFound(entity) }
    return try json(value)
}

func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: BasicRequestContext) async throws -> T {
    do { return try await request.decode(as: type, context: context) } catch {
        throw HTTPError(.badRequest, message: "The request body is not valid JSON for this call")
    }
}
