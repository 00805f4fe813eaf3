import Foundation
import HappeningConfig
import Razorpay
import Testing

@testable import OfflineRazorpay

/// The offline gateway's webhook retries: exponential backoff doubling from the first pause and capped,
/// the settings it is read from (defaults, overrides, out-of-range values refused), and the signed envelope.
@Suite("Gateway: webhook retry policy", .timeLimit(.minutes(10)))
struct WebhookRetryPolicyTests {
    @Test("defaults: 5 s per attempt, 1 s first pause, at most 60 s apart, for 24 hours")
    func defaults() throws {
        let policy = WebhookRetryPolicy()
        #expect(policy.timeout == .seconds(5) && policy.firstRetry == .seconds(1) && policy.maxInterval == .seconds(60) && policy.retryFor == .seconds(86_400))
        #expect(try WebhookRetryPolicy(settings: Settings([:])) == policy)
        #expect(
            try WebhookRetryPolicy(settings: Settings(["GATEWAY_WEBHOOK_RETRY_MS": "", "GATEWAY_WEBHOOK_TIMEOUT_MS": ""])) == policy,
            "empty means unset")
    }

    @Test("default backoff: 1, 2, 4 … 32 s, then 60 s for ever")
    func defaultBackoff() {
        let policy = WebhookRetryPolicy()
        #expect((1...9).map { policy.pause(afterAttempt: $0) } == [1, 2, 4, 8, 16, 32, 60, 60, 60].map { Duration.seconds($0) })
        #expect(policy.pause(afterAttempt: 1_000_000) == .seconds(60), "no overflow however many attempts")
        #expect(policy.pause(afterAttempt: Int.max) == .seconds(60))
    }

    @Test("attempt 0 or below pauses as long as the first retry")
    func belowOne() {
        let policy = WebhookRetryPolicy()
        #expect(policy.pause(afterAttempt: 0) == .seconds(1) && policy.pause(afterAttempt: -5) == .seconds(1))
    }

    @Test(
        "custom backoff doubles from the first pause and stops at the cap, even between powers of two",
        arguments: [
            (100, 400, [100, 200, 400, 400, 400]),
            (300, 1_000, [300, 600, 1_000, 1_000, 1_000]),
            (250, 250, [250, 250, 250, 250, 250]),
            (5_000, 1_000, [1_000, 1_000, 1_000, 1_000, 1_000]),  // a first pause above the cap is capped too
            (1, 86_400_000, [1, 2, 4, 8, 16]),
        ])
    func customBackoff(first: Int, cap: Int, expected: [Int]) {
        var policy = WebhookRetryPolicy()
        policy.firstRetry = .milliseconds(first)
        policy.maxInterval = .milliseconds(cap)
        #expect((1...5).map { policy.pause(afterAttempt: $0) } == expected.map { Duration.milliseconds($0) })
    }

    @Test("the pause never decreases and never exceeds the cap")
    func monotonic() {
        var policy = WebhookRetryPolicy()
        policy.firstRetry = .milliseconds(7)
        policy.maxInterval = .milliseconds(10_000)
        let pauses = (1...60).map { policy.pause(afterAttempt: $0) }
        #expect(zip(pauses, pauses.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(pauses.allSatisfy { $0 <= .milliseconds(10_000) })
        #expect(pauses[10] == .milliseconds(7_168) && pauses[11] == .milliseconds(10_000))
    }

    @Test("settings: each variable is read in its unit")
    func settings() throws {
        let policy = try WebhookRetryPolicy(
            settings: Settings([
                "GATEWAY_WEBHOOK_TIMEOUT_MS": "300", "GATEWAY_WEBHOOK_RETRY_MS": "100", "GATEWAY_WEBHOOK_RETRY_MAX_MS": "400",
                "GATEWAY_WEBHOOK_RETRY_FOR_S": "0",
            ]))
        #expect(policy.timeout == .milliseconds(300))
        #expect(policy.firstRetry == .milliseconds(100))
        #expect(policy.maxInterval == .milliseconds(400))
        #expect(policy.retryFor == .zero)
        #expect(policy.pause(afterAttempt: 4) == .milliseconds(400))
    }

    @Test(
        "settings out of range or not whole numbers are refused, naming the variable and its range",
        arguments: [
            ("GATEWAY_WEBHOOK_TIMEOUT_MS", "0", "must be a whole number from 1 to 600000"),
            ("GATEWAY_WEBHOOK_TIMEOUT_MS", "600001", "must be a whole number from 1 to 600000"),
            ("GATEWAY_WEBHOOK_RETRY_MS", "abc", "must be a whole number from 1 to 3600000"),
            ("GATEWAY_WEBHOOK_RETRY_MS", "1.5", "must be a whole number from 1 to 3600000"),
            ("GATEWAY_WEBHOOK_RETRY_MAX_MS", "86400001", "must be a whole number from 1 to 86400000"),
            ("GATEWAY_WEBHOOK_RETRY_MAX_MS", "-1", "must be a whole number from 1 to 86400000"),
            ("GATEWAY_WEBHOOK_RETRY_FOR_S", "-1", "must be a whole number from 0 to 604800"),
            ("GATEWAY_WEBHOOK_RETRY_FOR_S", "604801", "must be a whole number from 0 to 604800"),
        ])
    func refused(name: String, value: String, problem: String) {
        #expect(throws: Settings.Invalid(name: name, problem: problem)) { try WebhookRetryPolicy(settings: Settings([name: value])) }
    }

    @Test("the envelope is Razorpay's shape, and the signature the sender would attach verifies")
    func envelope() throws {
        struct Payment: Encodable, Sendable {
            let id: String
            let amount: Int
        }
        let body = WebhookSender.body(
            event: "payment.captured", payload: ["payment": Payment(id: "pay_1", amount: 49_950), "order": Payment(id: "order_1", amount: 49_950)])
        let envelope = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        #expect(envelope["entity"] as? String == "event" && envelope["event"] as? String == "payment.captured")
        #expect(envelope["account_id"] as? String == "acc_offline")
        #expect(envelope["contains"] as? [String] == ["order", "payment"])
        #expect(envelope["created_at"] is Int)
        let payment = ((envelope["payload"] as? [String: Any])?["payment"] as? [String: Any])?["entity"] as? [String: Any]
        #expect(payment?["id"] as? String == "pay_1" && payment?["amount"] as? Int == 49_950)
        let signature = RazorpaySignature.sign(body, secret: "hook-secret")
        #expect(RazorpaySignature.isValidWebhook(body: body, signature: signature, webhookSecret: "hook-secret"))
        let text = String(decoding: body, as: UTF8.self)
        #expect(text.hasPrefix(#"{"account_id":"acc_offline","contains":["order","payment"],"created_at":"#), "sorted keys: \(text)")
    }
}
