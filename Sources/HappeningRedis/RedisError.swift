/// An error from Redis or from this client. The description never includes command arguments.
public struct RedisError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, coarsely.
    public enum Kind: String, Sendable {
        /// Redis answered with an error reply (`ERR …`, `WRONGTYPE …`, `NOSCRIPT …`).
        case server
        /// Could not connect, or the connection broke or timed out during the call.
        case connection
        /// No pooled connection became free within the checkout timeout.
        case checkoutTimeout
        /// The client has been shut down.
        case clientClosed
        /// The call was cancelled.
        case cancelled
        /// The reply did not have the expected shape.
        case unexpectedReply
    }

    /// What went wrong.
    public var kind: Kind
    /// For `.server`: Redis's error text (its first word is the error code, e.g. `NOSCRIPT`).
    public var message: String?

    /// Creates an error; used by the client.
    public init(kind: Kind, message: String? = nil) {
        self.kind = kind
        self.message = message
    }

    /// The first word of a server error (`ERR`, `WRONGTYPE`, `NOSCRIPT`, …).
    public var code: String? { message?.split(separator: " ").first.map(String.init) }

    public var description: String {
        "RedisError(\(kind.rawValue)\(message.map { ": \($0)" } ?? ""))"
    }
}
