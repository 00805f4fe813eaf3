import Foundation
import HappeningConfig
import Razorpay
import Testing

/// Razorpay's checkout and webhook signatures (hex HMAC-SHA256), checked against vectors computed outside Swift
/// (`printf '%s' MESSAGE | openssl dgst -sha256 -hmac SECRET`), and the client configuration read from settings.
@Suite("Razorpay: signatures and configuration", .timeLimit(.minutes(10)))
struct RazorpaySignatureTests {
    // Moved unchanged from RazorpayTests/RazorpayClientTests.swift (it needs no gateway).
    @Test("checkout and webhook signatures: the right ones pass, anything else fails")
    func signatures() {
        let secret = "s3cret"
        let good = RazorpaySignature.checkout(orderID: "order_A", paymentID: "pay_B", keySecret: secret)
        #expect(good.count == 64)
        #expect(RazorpaySignature.isValidCheckout(orderID: "order_A", paymentID: "pay_B", signature: good, keySecret: secret))
        #expect(RazorpaySignature.isValidCheckout(orderID: "order_A", paymentID: "pay_B", signature: good.uppercased(), keySecret: secret))
        for (order, payment, signature, key) in [
            ("order_A", "pay_C", good, secret), ("order_X", "pay_B", good, secret), ("order_A", "pay_B", good, "other"),
            ("order_A", "pay_B", String(good.dropLast()) + "0", secret), ("order_A", "pay_B", "zz" + good.dropFirst(2), secret),
            ("order_A", "pay_B", "", secret), ("order_A", "pay_B", String(good.prefix(32)), secret),
        ] {
            #expect(!RazorpaySignature.isValidCheckout(orderID: order, paymentID: payment, signature: signature, keySecret: key))
        }
        let body = Data(#"{"event":"payment.captured"}"#.utf8)
        let hook = RazorpaySignature.sign(body, secret: "hook-secret")
        #expect(RazorpaySignature.isValidWebhook(body: body, signature: hook, webhookSecret: "hook-secret"))
        #expect(!RazorpaySignature.isValidWebhook(body: Data(#"{"event":"payment.captured" }"#.utf8), signature: hook, webhookSecret: "hook-secret"))
        #expect(!RazorpaySignature.isValidWebhook(body: body, signature: hook, webhookSecret: "other"))
    }

    @Test(
        "known answers: lower-case hex of HMAC-SHA256, as openssl computes it",
        arguments: [
            ("order_A|pay_B", "s3cret", "fe254c1752e3f852e9825a4970c13de8c48e32b85da5bd2b0fc46a09207e73b4"),
            (#"{"event":"payment.captured"}"#, "hook-secret", "0f01839ea7e22fab855f92e8a7f3d2d15f54bd7086b5049a07a80774eaa974e9"),
            ("The quick brown fox jumps over the lazy dog", "key", "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"),
            ("", "", "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"),
        ])
    func knownAnswers(message: String, secret: String, hex: String) {
        #expect(RazorpaySignature.sign(Data(message.utf8), secret: secret) == hex)
        #expect(RazorpaySignature.sign(Array(message.utf8), secret: secret) == hex, "any DataProtocol signs the same bytes")
        #expect(RazorpaySignature.isValidWebhook(body: Data(message.utf8), signature: hex, webhookSecret: secret))
    }

    @Test("the checkout signature signs \"<order_id>|<payment_id>\" with the key secret")
    func checkoutKnownAnswer() {
        let expected = "fe254c1752e3f852e9825a4970c13de8c48e32b85da5bd2b0fc46a09207e73b4"
        #expect(RazorpaySignature.checkout(orderID: "order_A", paymentID: "pay_B", keySecret: "s3cret") == expected)
        #expect(RazorpaySignature.isValidCheckout(orderID: "order_A", paymentID: "pay_B", signature: expected, keySecret: "s3cret"))
        // The offline gateway's development secret, as the gateway signs a checkout for the same ids.
        #expect(
            RazorpaySignature.checkout(orderID: "order_A", paymentID: "pay_B", keySecret: RazorpayConfiguration.offlineKeySecret)
                == "2c5226549920425990a51577ef5a635283c406025ddf3bf188e691041b329c20")
        // The separator matters: moving it changes the message.
        #expect(!RazorpaySignature.isValidCheckout(orderID: "order_A|pay", paymentID: "_B", signature: expected, keySecret: "s3cret"))
        #expect(!RazorpaySignature.isValidCheckout(orderID: "order_", paymentID: "A|pay_B", signature: expected, keySecret: "s3cret"))
    }

    @Test(
        "malformed signatures are invalid, never a crash",
        arguments: [
            "", "f", "fe254c1752e3f852e9825a4970c13de8c48e32b85da5bd2b0fc46a09207e73b",  // empty, one nibble, odd length
            "fe254c1752e3f852e9825a4970c13de8c48e32b85da5bd2b0fc46a09207e73b400",  // a byte too long
            "ge254c1752e3f852e9825a4970c13de8c48e32b85da5bd2b0fc46a09207e73b4",  // not hex
            " fe254c1752e3f852e9825a4970c13de8c48e32b85da5bd2b0fc46a09207e73b",  // a space
            "sha256=fe254c1752e3f852e9825a4970c13de8c48e32b85da5bd2b0fc46a09207e73b4",
        ])
    func malformed(signature: String) {
        #expect(!RazorpaySignature.isValidCheckout(orderID: "order_A", paymentID: "pay_B", signature: signature, keySecret: "s3cret"))
    }

    // Moved unchanged from RazorpayTests/RazorpayClientTests.swift (it needs no gateway).
    @Test("configuration: no keys means the offline gateway; half a key pair is refused; secrets never in the description")
    func configuration() throws {
        let offline = try RazorpayConfiguration(Settings([:]))
        #expect(offline.isSimulated && offline.baseURL == RazorpayConfiguration.offlineBaseURL)
        let live = try RazorpayConfiguration(
            Settings(["RAZORPAY_KEY_ID": "rzp_live_x", "RAZORPAY_KEY_SECRET": "topsecret", "RAZORPAY_WEBHOOK_SECRET": "hooksecret"]))
        #expect(!live.isSimulated && live.baseURL == "https://api.razorpay.com")
        #expect(!live.description.contains("topsecret") && !live.description.contains("hooksecret"))
        #expect(throws: (any Error).self) { try RazorpayConfiguration(Settings(["RAZORPAY_KEY_ID": "rzp_live_x"])) }
        #expect(throws: (any Error).self) { try RazorpayConfiguration(Settings(["RAZORPAY_KEY_ID": "a", "RAZORPAY_KEY_SECRET": "b"])) }
    }

    @Test("configuration: timeouts, attempts and base URL from settings; out-of-range values name the setting")
    func configurationValues() throws {
        let offline = try RazorpayConfiguration(Settings([:]))
        #expect(offline.timeout == .seconds(5) && offline.attempts == 3)
        #expect(offline.keyID == RazorpayConfiguration.offlineKeyID && offline.webhookSecret == RazorpayConfiguration.offlineWebhookSecret)
        let tuned = try RazorpayConfiguration(Settings(["RAZORPAY_TIMEOUT_MS": "250", "RAZORPAY_ATTEMPTS": "1", "RAZORPAY_BASE_URL": "http://127.0.0.1:9/"]))
        #expect(tuned.timeout == .milliseconds(250) && tuned.attempts == 1)
        #expect(tuned.baseURL == "http://127.0.0.1:9", "a trailing slash is dropped")
        #expect(throws: Settings.Invalid(name: "RAZORPAY_TIMEOUT_MS", problem: "must be a whole number from 100 to 120000")) {
            try RazorpayConfiguration(Settings(["RAZORPAY_TIMEOUT_MS": "99"]))
        }
        #expect(throws: Settings.Invalid(name: "RAZORPAY_ATTEMPTS", problem: "must be a whole number from 1 to 10")) {
            try RazorpayConfiguration(Settings(["RAZORPAY_ATTEMPTS": "11"]))
        }
        #expect(throws: Settings.Invalid(name: "RAZORPAY_KEY_ID", problem: "must be set together with RAZORPAY_KEY_SECRET")) {
            try RazorpayConfiguration(Settings(["RAZORPAY_KEY_SECRET": "b"]))
        }
        #expect(throws: Settings.Invalid(name: "RAZORPAY_WEBHOOK_SECRET", problem: "is required when RAZORPAY_KEY_ID is set")) {
            try RazorpayConfiguration(Settings(["RAZORPAY_KEY_ID": "a", "RAZORPAY_KEY_SECRET": "b"]))
        }
        #expect(RazorpayConfiguration(baseURL: "x", keyID: "k", keySecret: "s", webhookSecret: "w", attempts: 0).attempts == 1, "at least one attempt")
    }
}
