import Foundation
import HappeningCrypto

/// Razorpay's two signature rules, compared in constant time.
///
/// - Checkout: after a payment the browser receives `razorpay_signature` = hex(HMAC-SHA256(key secret,
///   `"<order_id>|<payment_id>"`)); the server recomputes it before trusting the payment.
/// - Webhooks: `X-Razorpay-Signature` = hex(HMAC-SHA256(webhook secret, raw request body)).
public enum RazorpaySignature {
    /// hex(HMAC-SHA256(secret, message)): what Razorpay (and our offline gateway) sends.
    public static func sign(_ message: some DataProtocol, secret: String) -> String {
        let code = HMACSHA256.code(for: message, key: secret.utf8)
        return code.map { String(format: "%02x", $0) }.joined()
    }

    /// The checkout signature for an order and a payment.
    public static func checkout(orderID: String, paymentID: String, keySecret: String) -> String {
        sign(Data("\(orderID)|\(paymentID)".utf8), secret: keySecret)
    }

    /// True when `signature` is the checkout signature of `orderID|paymentID` (constant time).
    public static func isValidCheckout(orderID: String, paymentID: String, signature: String, keySecret: String) -> Bool {
        isValid(signature, for: Data("\(orderID)|\(paymentID)".utf8), secret: keySecret)
    }

    /// True when `signature` (the `X-Razorpay-Signature` header) signs the raw webhook body (constant time).
    public static func isValidWebhook(body: some DataProtocol, signature: String, webhookSecret: String) -> Bool {
        isValid(signature, for: body, secret: webhookSecret)
    }

    /// Decodes the hex signature and compares the codes in constant time; malformed hex is simply invalid.
    private static func isValid(_ signature: String, for message: some DataProtocol, secret: String) -> Bool {
        guard let code = hexBytes(signature), code.count == SHA256.byteCount else { return false }
        return HMACSHA256.isValid(code, for: message, key: secret.utf8)
    }

    private static func hexBytes(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
