import Foundation
import HappeningHTTP
import Hummingbird
import Razorpay
import TestSupport
import Testing

/// The Razorpay client against our offline gateway (the real `happening-offline-razorpay` binary on loopback), and the
/// signature rules both sides share.
@Suite("Razorpay client and offline gateway", .timeLimit(.minutes(10)))
struct RazorpayClientTests {
    /// Webhooks the gateway delivered to the test's receiver.
    struct Received: Sendable {
        let body: [UInt8]
        let signature: String?
        let eventID: String?
    }

    /// Starts a gateway that delivers webhooks to a local receiver, and hands `body` a client for it. The
    /// receiver answers `answer(n)` to the n-th delivery it gets (1-based), after recording it.
    private func withGateway(
        settleMilliseconds: Int = 100, attempts: Int = 3, timeout: Duration = .seconds(5), gatewayEnvironment: [String: String] = [:],
        answer: @escaping @Sendable (Int) async -> HTTPResponse.Status = { _ in .ok },
        _ body: @Sendable (RazorpayClient, _ simulator: String, _ webhooks: LockedValue<[Received]>) async throws -> Void
    ) async throws {
        let received = LockedValue<[Received]>([])
        let receiver = Router()
        receiver.post("hook") { request, _ in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            let count = received.withLock {
                $0.append(
                    Received(
                        body: Array(bytes.readableBytesView), signature: request.headers[.init("X-Razorpay-Signature")!],
                        eventID: request.headers[.init("X-Razorpay-Event-Id")!]))
                return $0.count
            }
            return await answer(count)
        }
        try await withHTTPTestServer(receiver) { hookBase in
            let (gateway, port) = try await ChildProcess.startServing("happening-offline-razorpay", path: "/_sim/webhooks") { port in
                [
                    "GATEWAY_PORT": String(port), "GATEWAY_WEBHOOK_URL": "\(hookBase)/hook", "GATEWAY_SETTLE_MS": String(settleMilliseconds),
                ].merging(gatewayEnvironment) { $1 }
            }
            try await gateway.whileRunning {
                let base = "http://127.0.0.1:\(port)"
                let client = RazorpayClient(
                    configuration: RazorpayConfiguration(
                        baseURL: base, keyID: RazorpayConfiguration.offlineKeyID, keySecret: RazorpayConfiguration.offlineKeySecret,
                        webhookSecret: RazorpayConfiguration.offlineWebhookSecret, timeout: timeout, attempts: attempts, isSimulated: true))
                try await body(client, base + "/_sim", received)
                await client.shutdown()
            }
        }
    }

    /// Plays the customer paying `order` at the gateway; returns what Checkout hands the browser.
    private func pay(_ simulator: String, order: String, outcome: String = "captured") async throws -> [String: Any] {
        let response = try await TestHTTP.send(
            HTTPClientRequest(
                method: "POST", url: "\(simulator)/checkout", headers: [("Content-Type", "application/json")],
                body: Array(#"{"order_id":"\#(order)","outcome":"\#(outcome)"}"#.utf8)))
        #expect(response.status == 200)
        return try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] ?? [:]
    }

    private func inject(_ simulator: String, _ fault: String) async throws {
        let response = try await TestHTTP.send(
            HTTPClientRequest(
                method: "POST", url: "\(simulator)/faults", headers: [("Content-Type", "application/json")],
                body: Array(fault.utf8)))
        #expect(response.status == 204)
    }

    /// The gateway's own record of its webhooks (`GET /_sim/webhooks`).
    private func deliveries(_ simulator: String) async throws -> [[String: Any]] {
        let response = try await TestHTTP.send(HTTPClientRequest(url: "\(simulator)/webhooks"))
        return try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]] ?? []
    }

    @Test("an order is created once per receipt, paid at checkout with a valid signature, and the webhook is signed")
    func orderCheckoutWebhook() async throws {
        try await withGateway { razorpay, simulator, webhooks in
            let receipt = "booking_\(TestEnvironment.uniqueSuffix())"
            let order = try await razorpay.createOrder(amount: 49_950, receipt: receipt, notes: ["booking_id": "b1"])
            #expect(order.amount == 49_950 && order.amount_due == 49_950 && order.status == "created" && order.id.hasPrefix("order_"))
            #expect(try await razorpay.createOrder(amount: 49_950, receipt: receipt) == order, "the receipt is the idempotency key")
            #expect(try await razorpay.fetchOrder(order.id) == order)

            let paid = try await pay(simulator, order: order.id)
            let paymentID = try #require(paid["razorpay_payment_id"] as? String)
            let signature = try #require(paid["razorpay_signature"] as? String)
            #expect(
                RazorpaySignature.isValidCheckout(
                    orderID: order.id, paymentID: paymentID, signature: signature,
                    keySecret: RazorpayConfiguration.offlineKeySecret))
            let payment = try await razorpay.fetchPayment(paymentID)
            #expect(payment.status == "captured" && payment.captured && payment.amount == 49_950 && payment.order_id == order.id)
            #expect(try await razorpay.fetchOrder(order.id).status == "paid")
            #expect(try await razorpay.payments(ofOrder: order.id).map(\.id) == [paymentID])

            try await eventually("payment.captured at the receiver") { !webhooks.value.isEmpty }
            let hook = try #require(webhooks.value.first)
            #expect(
                RazorpaySignature.isValidWebhook(body: hook.body, signature: hook.signature ?? "", webhookSecret: RazorpayConfiguration.offlineWebhookSecret))
            #expect(hook.eventID?.hasPrefix("evt_") == true)
            let envelope = try #require(try JSONSerialization.jsonObject(with: Data(hook.body)) as? [String: Any])
            #expect(envelope["event"] as? String == "payment.captured")
            let entity = ((envelope["payload"] as? [String: Any])?["payment"] as? [String: Any])?["entity"] as? [String: Any]
            #expect(entity?["id"] as? String == paymentID && entity?["amount"] as? Int == 49_950)

            let failed = try await pay(simulator, order: try await razorpay.createOrder(amount: 100, receipt: receipt + "-f").id, outcome: "failed")
            #expect(failed["razorpay_signature"] == nil || failed["razorpay_signature"] is NSNull)
        }
    }

    @Test("a webhook the receiver refuses or answers too late is retried, with backoff, until it is taken")
    func webhookRetries() async throws {
        // Fast retries so the test is short: 300 ms per attempt, 100 ms first pause, doubling.
        let fast = ["GATEWAY_WEBHOOK_TIMEOUT_MS": "300", "GATEWAY_WEBHOOK_RETRY_MS": "100", "GATEWAY_WEBHOOK_RETRY_MAX_MS": "400"]
        // The receiver fails the first delivery with 503 and stalls the second past the gateway's timeout.
        try await withGateway(
            gatewayEnvironment: fast,
            answer: { count in
                if count == 1 { return .serviceUnavailable }
                if count == 2 {
                    try? await Task.sleep(for: .seconds(2))
                    return .ok
                }
                return .ok
            }
        ) { razorpay, simulator, webhooks in
            let order = try await razorpay.createOrder(amount: 1_000, receipt: "hook-\(TestEnvironment.uniqueSuffix())")
            _ = try await pay(simulator, order: order.id)
            let delivered = try await eventually(
                "the gateway to record payment.captured as delivered",
                {
                    try await deliveries(simulator)
                }, until: { $0.first?["state"] as? String == "delivered" })
            #expect((delivered.first?["attempts"] as? Int ?? 0) >= 3, "a refusal and a timeout, then taken: \(delivered)")
            #expect(delivered.first?["status"] as? Int == 200)
            let ids = webhooks.value.map(\.eventID)
            #expect(ids.count >= 3 && Set(ids).count == 1, "every attempt carries the same X-Razorpay-Event-Id: \(ids)")
        }
        // With no retry window left, a refused delivery is abandoned after its one attempt (a long timeout, so a
        // loaded machine still sees the 500).
        try await withGateway(
            gatewayEnvironment: fast.merging(["GATEWAY_WEBHOOK_RETRY_FOR_S": "0", "GATEWAY_WEBHOOK_TIMEOUT_MS": "30000"]) { $1 },
            answer: { _ in .internalServerError }
        ) { razorpay, simulator, webhooks in
            let order = try await razorpay.createOrder(amount: 1_000, receipt: "gone-\(TestEnvironment.uniqueSuffix())")
            _ = try await pay(simulator, order: order.id)
            let abandoned = try await eventually(
                "the gateway to give up on payment.captured",
                {
                    try await deliveries(simulator)
                }, until: { $0.first?["state"] as? String == "abandoned" })
            #expect(abandoned.first?["attempts"] as? Int == 1 && abandoned.first?["status"] as? Int == 500)
            #expect(webhooks.value.count == 1)
        }
    }

    @Test("refunds: pending then processed, idempotent per receipt (sent as X-Refund-Idempotency), never more than captured")
    func refunds() async throws {
        try await withGateway { razorpay, simulator, webhooks in
            let order = try await razorpay.createOrder(amount: 20_000, receipt: "r-\(TestEnvironment.uniqueSuffix())")
            let paymentID = try #require(try await pay(simulator, order: order.id)["razorpay_payment_id"] as? String)
            let refund = try await razorpay.createRefund(paymentID: paymentID, amount: 20_000, receipt: "cancel-0001")
            #expect(refund.status == "pending" && refund.amount == 20_000 && refund.payment_id == paymentID)
            #expect(try await razorpay.createRefund(paymentID: paymentID, amount: 20_000, receipt: "cancel-0001").id == refund.id)
            await #expect(throws: RazorpayError.self) { try await razorpay.createRefund(paymentID: paymentID, amount: 1, receipt: "cancel-0002") }
            try await eventually("refund.processed at the receiver") {
                webhooks.value.contains { String(decoding: $0.body, as: UTF8.self).contains("refund.processed") }
            }
            #expect(try await razorpay.fetchRefund(refund.id).status == "processed")
            #expect(try await razorpay.fetchPayment(paymentID).amount_refunded == 20_000)
        }
    }

    /// A refund request as Razorpay takes it, straight to the gateway: `key` goes out as `X-Refund-Idempotency`.
    private func rawRefund(_ razorpay: RazorpayClient, payment: String, amount: Int64, key: String?) async throws -> (status: Int, body: [String: Any]) {
        var headers = [("Content-Type", "application/json")]
        if let key { headers.append(("X-Refund-Idempotency", key)) }
        let response = try await TestHTTP.send(
            HTTPClientRequest(
                method: "POST", url: "\(razorpay.configuration.baseURL)/v1/payments/\(payment)/refund", headers: headers,
                body: Array(#"{"amount":\#(amount),"receipt":"same-receipt"}"#.utf8),
                basicAuth: (RazorpayConfiguration.offlineKeyID, RazorpayConfiguration.offlineKeySecret)))
        return (response.status, (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:])
    }

    @Test("attack: a timed-out refund retried without X-Refund-Idempotency is a second refund, as at Razorpay; only the key makes it one")
    func refundIdempotencyAsRazorpayDocuments() async throws {
        try await withGateway { razorpay, simulator, _ in
            // Orders too: a receipt is a key only with unique_receipt (which the client always sends).
            let receipt = "twice-\(TestEnvironment.uniqueSuffix())"
            var plainIDs: [String] = []
            for _ in 0..<2 {
                let response = try await TestHTTP.send(
                    HTTPClientRequest(
                        method: "POST", url: "\(razorpay.configuration.baseURL)/v1/orders", headers: [("Content-Type", "application/json")],
                        body: Array(#"{"amount":1000,"currency":"INR","receipt":"\#(receipt)"}"#.utf8),
                        basicAuth: (RazorpayConfiguration.offlineKeyID, RazorpayConfiguration.offlineKeySecret)))
                plainIDs.append((try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])?["id"] as? String ?? "")
            }
            #expect(plainIDs[0] != plainIDs[1], "without unique_receipt the same receipt makes a second order")
            #expect(
                try await razorpay.createOrder(amount: 1_000, receipt: receipt + "-u")
                    == (try await razorpay.createOrder(amount: 1_000, receipt: receipt + "-u")))
            let order = try await razorpay.createOrder(amount: 30_000, receipt: "idem-\(TestEnvironment.uniqueSuffix())")
            let payment = try #require(try await pay(simulator, order: order.id)["razorpay_payment_id"] as? String)
            // The same receipt twice without a key: two refunds (the receipt is a label, not a key).
            let first = try await rawRefund(razorpay, payment: payment, amount: 10_000, key: nil)
            let second = try await rawRefund(razorpay, payment: payment, amount: 10_000, key: nil)
            #expect(first.status == 200 && second.status == 200 && first.body["id"] as? String != second.body["id"] as? String)
            // With a key: the retry returns the same refund; the key with another body is refused.
            let keyed = try await rawRefund(razorpay, payment: payment, amount: 5_000, key: "refund-key-0001")
            let retried = try await rawRefund(razorpay, payment: payment, amount: 5_000, key: "refund-key-0001")
            #expect(keyed.status == 200 && retried.body["id"] as? String == keyed.body["id"] as? String)
            let reused = try await rawRefund(razorpay, payment: payment, amount: 4_000, key: "refund-key-0001")
            #expect(reused.status == 400)
            #expect(try await razorpay.fetchPayment(payment).amount_refunded == 25_000)
            // What is left, then nothing: Razorpay says the payment is fully refunded, and lists its refunds.
            _ = try await razorpay.createRefund(paymentID: payment, amount: 5_000, receipt: "rest-of-it-0001")
            await #expect { try await razorpay.createRefund(paymentID: payment, amount: 100, receipt: "one-more-0001") } throws: {
                guard case .rejected(400, _, let message)? = ($0 as? RazorpayError)?.kind else { return false }
                return message.contains("fully refunded")
            }
            #expect(try await razorpay.refunds(ofPayment: payment).map(\.amount).sorted() == [5_000, 5_000, 10_000, 10_000])
        }
    }

    @Test("5xx and timeouts are retried, 4xx are not; the key pair is checked")
    func retries() async throws {
        // A patient client for the answers that do come (a loaded machine can take more than a second), and an
        // impatient one below for the answers that never come in time.
        try await withGateway(attempts: 3, timeout: .seconds(30)) { razorpay, simulator, _ in
            try await inject(simulator, #"{"method":"POST","path_prefix":"/v1/orders","status":503,"times":2,"delay_ms":0}"#)
            let order = try await razorpay.createOrder(amount: 500, receipt: "retry-\(TestEnvironment.uniqueSuffix())")
            #expect(order.amount == 500, "two 503s, then the third attempt succeeds")

            try await inject(simulator, #"{"method":"GET","path_prefix":"/v1/orders","status":500,"times":3,"delay_ms":0}"#)
            await #expect { try await razorpay.fetchOrder(order.id) } throws: { ($0 as? RazorpayError)?.kind == .unavailable }

            // The gateway would take 30 s per answer; each attempt gives up after 0.5 s. (A loose bound: the suite
            // shares 2 cores, so only "far less than one 30 s answer" is checked, not the exact 2.1 s.)
            try await inject(simulator, #"{"method":"GET","path_prefix":"/v1/orders","status":0,"times":3,"delay_ms":30000}"#)
            let impatient = RazorpayClient(
                configuration: RazorpayConfiguration(
                    baseURL: razorpay.configuration.baseURL, keyID: RazorpayConfiguration.offlineKeyID, keySecret: RazorpayConfiguration.offlineKeySecret,
                    webhookSecret: RazorpayConfiguration.offlineWebhookSecret, timeout: .milliseconds(500), attempts: 3, isSimulated: true))
            let started = ContinuousClock.now
            await #expect { try await impatient.fetchOrder(order.id) } throws: { ($0 as? RazorpayError)?.kind == .unavailable }
            #expect(ContinuousClock.now - started < .seconds(20), "the per-attempt timeout, not the gateway's delay, ended the call")
            await impatient.shutdown()

            await #expect { try await razorpay.createOrder(amount: 5, receipt: "too-small") } throws: { error in
                if case .rejected(400, "BAD_REQUEST_ERROR", _)? = (error as? RazorpayError)?.kind { return true }
                return false
            }
            let stranger = RazorpayClient(
                configuration: RazorpayConfiguration(
                    baseURL: razorpay.configuration.baseURL, keyID: "rzp_test_other", keySecret: "wrong", webhookSecret: "x"))
            await #expect { try await stranger.fetchOrder(order.id) } throws: { error in
                if case .rejected(401, _, _)? = (error as? RazorpayError)?.kind { return true }
                return false
            }
            await stranger.shutdown()
            await #expect { try await razorpay.fetchOrder("../../etc") } throws: { $0 is RazorpayError }
        }
    }

    @Test("payouts: one per idempotency key, processed later, bad IFSC refused")
    func payouts() async throws {
        try await withGateway { razorpay, _, webhooks in
            let destination = RazorpayPayoutDestination(name: "Asha Rao", ifsc: "HDFC0001234", accountNumber: "001122334455", contactReference: "host-1")
            let key = "payout-\(TestEnvironment.uniqueSuffix())"
            let payout = try await razorpay.createPayout(
                amount: 90_000, to: destination, referenceID: "event-1", idempotencyKey: key, narration: "Happening payout")
            #expect(payout.status == "processing" && payout.amount == 90_000)
            #expect(
                try await razorpay.createPayout(amount: 90_000, to: destination, referenceID: "event-1", idempotencyKey: key, narration: "x").id == payout.id)
            try await eventually("payout.processed at the receiver") {
                webhooks.value.contains { String(decoding: $0.body, as: UTF8.self).contains("payout.processed") }
            }
            let settled = try await razorpay.fetchPayout(payout.id)
            #expect(settled.status == "processed" && settled.utr != nil)
            let bad = RazorpayPayoutDestination(name: "X", ifsc: "BAD", accountNumber: "1", contactReference: "h")
            await #expect(throws: RazorpayError.self) {
                try await razorpay.createPayout(amount: 1_000, to: bad, referenceID: "e", idempotencyKey: key + "-bad", narration: "x")
            }
        }
    }
}
