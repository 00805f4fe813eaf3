import Foundation
import Hummingbird
import Razorpay

/// Controls that are not Razorpay's, under `/_sim` (no authentication; the gateway listens on loopback only):
/// - `POST /_sim/checkout {order_id, outcome: captured|authorized|failed, method?, webhook?}` plays the customer:
///   pays the order and returns what Checkout hands the browser (`razorpay_order_id`, `razorpay_payment_id`,
///   `razorpay_signature`), and (unless `webhook: false`) sends `payment.captured` / `payment.failed`.
/// - `POST /_sim/refunds/:id/fail` settles a pending refund as failed (sends `refund.failed`).
/// - `POST /_sim/faults {method?, path_prefix, status, times, delay_ms}` / `DELETE /_sim/faults`: inject failures and delays.
/// - `GET /_sim/webhooks`: every webhook sent so far: its last answer, attempts, and `retrying`, `delivered` or `abandoned`.
struct SimulationRoutes: Sendable {
    let ledger: OfflineLedger
    let faults: OfflineFaults
    let webhooks: WebhookSender
    let keySecret: String

    func add(to router: Router<BasicRequestContext>) {
        let sim = router.group("_sim")
        sim.post("checkout", use: checkout)
        sim.post("refunds/:id/fail") { _, context in
            guard let refund = ledger.settleRefund(try context.parameters.require("id"), status: "failed") else { return notFound("refund") }
            webhooks.emit("refund.failed", payload: ["refund": refund, "payment": ledger.payment(refund.payment_id)])
            return try json(refund)
        }
        sim.post("faults") { request, context in
            faults.add(try await decode(OfflineFaults.Fault.self, request, context))
            return Response(status: .noContent)
        }
        sim.delete("faults") { _, _ in
            faults.clear()
            return Response(status: .noContent)
        }
        sim.get("webhooks") { _, _ in try json(webhooks.deliveries) }
    }

    struct CheckoutResult: Encodable {
        let razorpay_order_id: String
        let razorpay_payment_id: String
        let razorpay_signature: String?
        let status: String
    }

    @Sendable func checkout(request: Request, context: BasicRequestContext) async throws -> Response {
        struct Body: Decodable {
            let order_id: String
            let outcome: String?
            let method: String?
            let webhook: Bool?
        }
        let body = try await decode(Body.self, request, context)
        let outcome = body.outcome ?? "captured"
        guard ["captured", "authorized", "failed"].contains(outcome) else {
            return badRequest("outcome must be captured, authorized or failed", field: "outcome")
        }
        guard let payment = ledger.pay(orderID: body.order_id, outcome: outcome, method: body.method ?? "upi") else { return notFound("order") }
        if body.webhook ?? true, outcome != "authorized" {
            webhooks.emit("payment.\(outcome)", payload: ["payment": payment])
        }
        let signature =
            outcome == "failed"
            ? nil
            : RazorpaySignature.checkout(orderID: body.order_id, paymentID: payment.id, keySecret: keySecret)
        return try json(CheckoutResult(razorpay_order_id: body.order_id, razorpay_payment_id: payment.id, razorpay_signature: signature, status: outcome))
    }
}

/// Applies injected faults to `/v1` calls, then checks Razorpay's basic authentication.
struct GatewayGuardMiddleware: RouterMiddleware {
    let faults: OfflineFaults
    let keyID: String
    let keySecret: String

    func handle(_ request: Request, context: BasicRequestContext, next: (Request, BasicRequestContext) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/v1/") else { return try await next(request, context) }
        if let fault = faults.take(method: request.method.rawValue, path: path) {
            if fault.delay_ms > 0 { try await Task.sleep(for: .milliseconds(fault.delay_ms)) }
            if fault.status >= 400 {
                return razorpayError(HTTPResponse.Status(code: fault.status), code: "SERVER_ERROR", "Injected failure (simulated)")
            }
        }
        let expected = "Basic " + Data("\(keyID):\(keySecret)".utf8).base64EncodedString()
        guard let given = request.headers[.authorization], Array(given.utf8) == Array(expected.utf8) else {
            return razorpayError(.unauthorized, code: "BAD_REQUEST_ERROR", "The api key provided is invalid")
        }
        return try await next(request, context)
    }
}
