/// What went wrong talking to Razorpay. Descriptions never include keys, amounts of other calls or bodies.
public struct RazorpayError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Razorpay answered with a 4xx: the request itself is wrong (retrying will not help).
        case rejected(status: Int, code: String, message: String)
        /// No usable answer after every attempt (5xx, timeouts, no connection).
        case unavailable
        /// A 2xx whose body was not the entity expected.
        case invalidResponse
    }
    public var kind: Kind
    /// What was being done (`create order`, `fetch refund` …).
    public var operation: String

    public init(_ kind: Kind, operation: String) {
        self.kind = kind
        self.operation = operation
    }

    public var description: String {
        switch kind {
        case .rejected(let status, let code, let message): "Razorpay refused \(operation) (\(status) \(code)): \(message)"
        case .unavailable: "Razorpay did not answer \(operation)"
        case .invalidResponse: "Razorpay's answer to \(operation) was not understood"
        }
    }
}
