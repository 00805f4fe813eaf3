/// One argument of a Redis command: bytes, so keys and values are binary safe.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    /// The argument's bytes.
    public var bytes: [UInt8]

    /// Raw bytes.
    public init(bytes: [UInt8]) { self.bytes = bytes }
    /// A string's UTF-8 bytes.
    public init(_ string: String) { self.bytes = Array(string.utf8) }
    /// An integer's decimal form.
    public init(_ integer: Int) { self.bytes = Array(String(integer).utf8) }
    public init(stringLiteral value: String) { self.init(value) }
    public init(integerLiteral value: Int) { self.init(value) }
}

/// A reply from Redis.
public enum RedisValue: Sendable, Hashable {
    /// A bulk string (binary safe).
    case bulk([UInt8])
    /// A status reply such as `OK` or `PONG`.
    case status(String)
    /// An integer reply.
    case integer(Int64)
    /// The null reply (missing key, `SET … NX` that did not set).
    case null
    /// A multi-bulk reply.
    case array([RedisValue])
    /// An error reply (inside a pipeline; a single command throws ``RedisError`` instead).
    case error(String)

    /// The value as UTF-8 text (bulk or status), nil otherwise.
    public var string: String? {
        switch self {
        case .bulk(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .status(let text): return text
        default: return nil
        }
    }

    /// The value as bytes (bulk), nil otherwise.
    public var bytes: [UInt8]? {
        if case .bulk(let bytes) = self { return bytes }
        return nil
    }

    /// The value as an integer (integer reply, or a bulk holding digits), nil otherwise.
    public var integer: Int64? {
        switch self {
        case .integer(let value): return value
        case .bulk(let bytes): return Int64(String(decoding: bytes, as: UTF8.self))
        default: return nil
        }
    }

    /// True for the null reply.
    public var isNull: Bool { self == .null }
}
