import Foundation

extension UUID {
    /// The id as every Happening wire writes it — JSON bodies, queue message ids, Redis keys, cursors, gateway notes:
    /// lowercase, as PostgreSQL (and so the original API) writes it. Foundation's `uuidString` is uppercase.
    /// Written byte by byte: Foundation formats `uuidString` with `snprintf` and `lowercased()` copies it again, and
    /// cache keys and bodies write ids on every request.
    public var lowercasedText: String {
        let bytes = uuid
        return String(unsafeUninitializedCapacity: 36) { out in
            var at = 0
            withUnsafeBytes(of: bytes) { raw in
                for (index, byte) in raw.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        out[at] = UInt8(ascii: "-")
                        at += 1
                    }
                    out[at] = Self.hexDigits[Int(byte >> 4)]
                    out[at + 1] = Self.hexDigits[Int(byte & 0x0F)]
                    at += 2
                }
            }
            return 36
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// The canonical text form (8-4-4-4-12 hex digits, either case), read without `sscanf` (what
    /// `UUID(uuidString:)` uses); nil for anything else.
    public init?(canonical text: UnsafeRawBufferPointer) {
        guard text.count == 36 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        var nibbles = 0
        for index in 0..<36 {
            let character = text[index]
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard character == UInt8(ascii: "-") else { return nil }
                continue
            }
            let nibble: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = character &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = character &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = character &- UInt8(ascii: "A") &+ 10
            default: return nil
            }
            if nibbles < 16 { high = high << 4 | UInt64(nibble) } else { low = low << 4 | UInt64(nibble) }
            nibbles += 1
        }
        self = withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
    }

    /// ``init(canonical:)-(UnsafeRawBufferPointer)`` for any bytes (read in place when they are contiguous).
    @inlinable
    public init?(canonical text: some Collection<UInt8>) {
        let parsed =
            text.withContiguousStorageIfAvailable { UUID(canonical: UnsafeRawBufferPointer($0)) }
            ?? Array(text).withUnsafeBytes { UUID(canonical: $0) }
        guard let parsed else { return nil }
        self = parsed
    }
}

/// A `UUID` field of a JSON body: written as lowercase text (`JSONEncoder` writes a `UUID` uppercase), read in
/// either case. The type holds a `UUID`, so code compares ids, never strings.
@propertyWrapper
public struct LowercaseID: Codable, Sendable, Hashable {
    public var wrappedValue: UUID

    public init(wrappedValue: UUID) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let id = UUID(uuidString: try container.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a UUID")
        }
        wrappedValue = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue.lowercasedText)
    }
}

/// An optional `UUID` field of a JSON body: lowercase text when set, and (like any optional field) left out when nil.
@propertyWrapper
public struct LowercaseOptionalID: Codable, Sendable, Hashable {
    public var wrappedValue: UUID?

    public init(wrappedValue: UUID?) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            wrappedValue = nil
            return
        }
        guard let id = UUID(uuidString: try container.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a UUID")
        }
        wrappedValue = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let id = wrappedValue { try container.encode(id.lowercasedText) } else { try container.encodeNil() }
    }
}

// Synthesised coding calls these for a `LowercaseOptionalID` property: the key is left out when the id is nil, and a
// missing key reads as nil, exactly like a plain optional.
extension KeyedEncodingContainer {
    public mutating func encode(_ value: LowercaseOptionalID, forKey key: Key) throws {
        try encodeIfPresent(value.wrappedValue?.lowercasedText, forKey: key)
    }
}

extension KeyedDecodingContainer {
    public func decode(_ type: LowercaseOptionalID.Type, forKey key: Key) throws -> LowercaseOptionalID {
        try decodeIfPresent(LowercaseOptionalID.self, forKey: key) ?? LowercaseOptionalID(wrappedValue: nil)
    }
}
