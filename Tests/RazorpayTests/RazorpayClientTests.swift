import Foundation
import HappeningCurl
import Hummingbird
import HappeningCore
import Razorpay
import Testing
import TestSupport

/// The Razorpay client against our offline gateway (the real `happening-gateway` binary on loopback), and the
/// signature rules both sides share.
@Suite("Razorpay client and offline gateway")
struct RazorpayClientTests {
    /// Webhooks the gateway delivered to the test's receiver.
    struct Received: Sendable {
        let body: [UInt8]
        let signature: String?
        let eventID: String?
    }

    /// Starts a gateway that delivers webhooks to a local receiver, and hands `body` a client for it.
    private func withGateway(
        settleMilliseconds: Int = 100, attempts: Int = 3, timeout: Duration = .seconds(5),
        _ body: @Sendable (RazorpayClient, _ simulator: String, _ webhooks: LockedValue<[Received]>) async throws -> Void
    ) async throws {
        let received = LockedValue<[Received]>([])
        let receiver = Router()
        receiver.post("hook") { request, _ in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            received.withLock { $0.append(Received(body: Array(bytes.readableBytesView), signature: request.headers[.init("X-Razorpay-Signature")!],
                                                  eventID: request.headers[.init("X-Razorpay-Event-Id")!])) }
            return HTTPResponse.Status.ok
        }
        try await withHTTPTestServer(receiver) { hookBase in
            let port = Int.random(in: 30_000...32_000)  // below the ephemeral range (32768–60999)
            let gateway = try ChildProcess.start("happening-gateway", environment: [
                "GATEWAY_PORT": String(port), "GATEWAY_WEBHOOK_URL": "\(hookBase)/hook", "GATEWAY_SETTLE_MS": String(settleMilliseconds),
            ])
            defer { gateway.stop() }
            let base = "http://127.0.0.1:\(port)"
            let http = CurlHTTPClient()
            var up = false
            for _ in 0..<100 where !up {
                up = (try? await http.send(HTTPClientRequest(url: "\(base)/_sim/webhooks", timeout: .seconds(1))))?.status == 200
                if !up { try await Task.sleep(for: .milliseconds(100)) }
            }
            await http.shutdown()
            try #require(up, "the gateway did not start: \(gateway.output)")
            let client = RazorpayClient(configuration: RazorpayConfiguration(
                baseURL: base, keyID: RazorpayConfiguration.offlineKeyID, keySecret: RazorpayConfiguration.offlineKeySecret,
                webhookSecret: RazorpayConfiguration.offlineWebhookSecret, timeout: timeout, attempts: attempts, isSimulated: true))
            try await body(client, base + "/_sim", received)
            await client.shutdown()
        }
    }

    /// Plays the customer paying `order` at the gateway; returns what Checkout hands the browser.
    private func pay(_ simulator: String, order: String, outcome: String = "captured") async throws -> [String: Any] {
        let http = CurlHTTPClient()
        defer { Task { await http.shutdown() } }
        let response = try await http.send(HTTPClientRequest(
            method: "POST", url: "\(simulator)/checkout", headers: [("Content-Type", "application/json")],
            body: Array(#"{"order_id":"\#(order)","outcome":"\#(outcome)"}"#.utf8)))
        #expect(response.status == 200)
        return try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] ?? [:]
    }

    private func inject(_ simulator: String, _ fault: String) async throws {
        let http = CurlHTTPClient()
        defer { Task { await http.shutdown() } }
        let response = try await http.send(HTTPClientRequest(method: "POST", url: "\(simulator)/faults", headers: [("Content-Type", "application/json")],
                                                             body: Array(fault.utf8)))
        #expect(response.status == 204)
    }

    private func wait(for what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { Issue.record("timed out waiting for \(what)"); return }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test("checkout and webhook signatures: the right ones pass, anything else fails")
    func signatures() {
        let secret = "s3cret"
        let good = RazorpaySignature.checkout(orderID: "order_A", paymentID: "pay_B", keySecret: secret)
        #expect(good.count == 64)
        #expect(RazorpaySignature.isValidCheckout(orderID: "order_A", paymentID: "pay_B", signature: good, keySecret: secret))
        #expect(RazorpaySignature.isValidCheckout(orderID: "order_A", paymentID: "pay_B", signature: good.uppercased(), keySecret: secret))
        for (order, payment, signature, key) in [("order_A", "pay_C", good, secret), ("order_X", "pay_B", good, secret), ("order_A", "pay_B", good, "other"),
                                                 ("order_A", "pay_B", String(good.dropLast()) + "0", secret), ("order_A", "pay_B", "zz" + good.dropFirst(2), secret),
                                                 ("order_A", "pay_B", "", secret), ("order_A", "pay_B", String(good.prefix(32)), secret)] {
            #expect(!RazorpaySignature.isValidCheckout(orderID: order, paymentID: payment, signature: signature, keySecret: key))
        }
        let body = Data(#"{"event":"payment.captured"}"#.utf8)
        let hook = RazorpaySignature.sign(body, secret: "hook-secret")
        #expect(RazorpaySignature.isValidWebhook(body: body, signature: hook, webhookSecret: "hook-secret"))
        #expect(!RazorpaySignature.isValidWebhook(body: Data(#"{"event":"payment.captured" }"#.utf8), signature: hook, webhookSecret: "hook-secret"))
        #expect(!RazorpaySignature.isValidWebhook(body: body, signature: hook, webhookSecret: "other"))
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
            #expect(RazorpaySignature.isValidCheckout(orderID: order.id, paymentID: paymentID, signature: signature,
                                                      keySecret: RazorpayConfiguration.offlineKeySecret))
            let payment = try await razorpay.fetchPayment(paymentID)
            #expect(payment.status == "captured" && payment.captured && payment.amount == 49_950 && payment.order_id == order.id)
            #expect(try await razorpay.fetchOrder(order.id).status == "paid")
            #expect(try await razorpay.payments(ofOrder: order.id).map(\.id) == [paymentID])

            try await wait(for: "payment.captured") { !webhooks.value.isEmpty }
            let hook = try #require(webhooks.value.first)
            #expect(RazorpaySignature.isValidWebhook(body: hook.body, signature: hook.signature ?? "", webhookSecret: RazorpayConfiguration.offlineWebhookSecret))
            #expect(hook.eventID?.hasPrefix("evt_") == true)
            let envelope = try #require(try JSONSerialization.jsonObject(with: Data(hook.body)) as? [String: Any])
            #expect(envelope["event"] as? String == "payment.captured")
            let entity = ((envelope["payload"] as? [String: Any])?["payment"] as? [String: Any])?["entity"] as? [String: Any]
            #expect(entity?["id"] as? String == paymentID && entity?["amount"] as? Int == 49_950)

            let failed = try await pay(simulator, order: try await razorpay.createOrder(amount: 100, receipt: receipt + "-f").id, outcome: "failed")
            #expect(failed["razorpay_signature"] == nil || failed["razorpay_signature"] is NSNull)
        }
    }

    @Test("refunds: pending then processed, idempotent per receipt, never more than captured")
    func refunds() async throws {
        try await withGateway { razorpay, simulator, webhooks in
            let order = try await razorpay.createOrder(amount: 20_000, receipt: "r-\(TestEnvironment.uniqueSuffix())")
            let paymentID = try #require(try await pay(simulator, order: order.id)["razorpay_payment_id"] as? String)
            let refund = try await razorpay.createRefund(paymentID: paymentID, amount: 20_000, receipt: "cancel-1")
            #expect(refund.status == "pending" && refund.amount == 20_000 && refund.payment_id == paymentID)
            #expect(try await razorpay.createRefund(paymentID: paymentID, amount: 20_000, receipt: "cancel-1").id == refund.id)
            await #expect(throws: RazorpayError.self) { try await razorpay.createRefund(paymentID: paymentID, amount: 1, receipt: "cancel-2") }
            try await wait(for: "the refund to settle") { webhooks.value.contains { String(decoding: $0.body, as: UTF8.self).contains("refund.processed") } }
            #expect(try await razorpay.fetchRefund(refund.id).status == "processed")
            #expect(try await razorpay.fetchPayment(paymentID).amount_refunded == 20_000)
        }
    }

    @Test("5xx and timeouts are retried, 4xx are not; the key pair is checked")
    func retries() async throws {
        try await withGateway(attempts: 3, timeout: .milliseconds(500)) { razorpay, simulator, _ in
            try await inject(simulator, #"{"method":"POST","path_prefix":"/v1/orders","status":503,"times":2,"delay_ms":0}"#)
            let order = try await razorpay.createOrder(amount: 500, receipt: "retry-\(TestEnvironment.uniqueSuffix())")
            #expect(order.amount == 500, "two 503s, then the third attempt succeeds")

            try await inject(simulator, #"{"method":"GET","path_prefix":"/v1/orders","status":500,"times":3,"delay_ms":0}"#)
            await #expect { try await razorpay.fetchOrder(order.id) } throws: { ($0 as? RazorpayError)?.kind == .unavailable }

            // The gateway would take 30 s per answer; each attempt gives up after 0.5 s. (A loose bound: the suite
            // shares 2 cores, so only "far less than one 30 s answer" is checked, not the exact 2.1 s.)
            try await inject(simulator, #"{"method":"GET","path_prefix":"/v1/orders","status":0,"times":3,"delay_ms":30000}"#)
            let started = ContinuousClock.now
            await #expect { try await razorpay.fetchOrder(order.id) } throws: { ($0 as? RazorpayError)?.kind == .unavailable }
            #expect(ContinuousClock.now - started < .seconds(20), "the per-attempt timeout, not the gateway's delay, ended the call")

            await #expect { try await razorpay.createOrder(amount: 5, receipt: "too-small") } throws: { error in
                if case .rejected(400, "BAD_REQUEST_ERROR", _)? = (error as? RazorpayError)?.kind { return true }
                return false
            }
            let stranger = RazorpayClient(configuration: RazorpayConfiguration(
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
            let payout = try await razorpay.createPayout(amount: 90_000, to: destination, referenceID: "event-1", idempotencyKey: key, narration: "Happening payout")
            #expect(payout.status == "processing" && payout.amount == 90_000)
            #expect(try await razorpay.createPayout(amount: 90_000, to: destination, referenceID: "event-1", idempotencyKey: key, narration: "x").id == payout.id)
            try await wait(for: "payout.processed") { webhooks.value.contains { String(decoding: $0.body, as: UTF8.self).contains("payout.processed") } }
            let settled = try await razorpay.fetchPayout(payout.id)
            #expect(settled.status == "processed" && settled.utr != nil)
            let bad = RazorpayPayoutDestination(name: "X", ifsc: "BAD", accountNumber: "1", contactReference: "h")
            await #expect(throws: RazorpayError.self) {
                try await razorpay.createPayout(amount: 1_000, to: bad, referenceID: "e", idempotencyKey: key + "-bad", narration: "x")
            }
        }
    }

    @Test("configuration: no keys means the offline gateway; half a key pair is refused; secrets never in the description")
    func configuration() throws {
        let offline = try RazorpayConfiguration(Settings([:]))
        #expect(offline.isSimulated && offline.baseURL == RazorpayConfiguration.offlineBaseURL)
        let live = try RazorpayConfiguration(Settings(["RAZORPAY_KEY_ID": "rzp_live_x", "RAZORPAY_KEY_SECRET": "topsecret", "RAZORPAY_WEBHOOK_SECRET": "hooksecret"]))
        #expect(!live.isSimulated && live.baseURL == "https://api.razorpay.com")
        #expect(!live.description.contains("topsecret") && !live.description.contains("hooksecret"))
        #expect(throws: (any Error).self) { try RazorpayConfiguration(Settings(["RAZORPAY_KEY_ID": "rzp_live_x"])) }
        #expect(throws: (any Error).self) { try RazorpayConfiguration(Settings(["RAZORPAY_KEY_ID": "a", "RAZORPAY_KEY_SECRET": "b"])) }
    }
}
