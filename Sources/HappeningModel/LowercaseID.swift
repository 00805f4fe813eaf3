import Foundation

extension UUID {
    /// The id as every Happening wire writes it — JSON bodies, queue message ids, Redis keys, cursors, gateway notes:
    /// lowercase, as PostgreSQL (and so the original API) writes it. Foundation's `uuidString` is uppercase.
    public var lowercasedText: String { uuidString.lowercased() }
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
