import Foundation

/// Writes the rows of a ``PostgresConnection/copyBinary(table:columns:rows:from:)`` call.
///
/// A source is called once per row index, in order, on one of the client's threads; it is a value that
/// can compute any row from its index, which is what makes a bulk load deterministic however it is
/// batched. Throw to abort the COPY (nothing of it remains).
public protocol PostgresCopySource: Sendable {
    /// Writes row `index`: `beginRow(fields:)`, then exactly that many fields in the COPY's column order.
    func writeRow(_ index: Int, to writer: inout PostgresCopyWriter) throws
}

/// Encodes rows in PostgreSQL's binary COPY format (big-endian, length-prefixed fields).
///
/// Each field method writes one field in the binary form of its column type: the caller is responsible for
/// matching the column (the server rejects a mismatch and the whole COPY with it).
public struct PostgresCopyWriter: Sendable {
    /// The encoded bytes not sent yet.
    public internal(set) var bytes: [UInt8]

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Microseconds between 1970-01-01 and PostgreSQL's epoch, 2000-01-01 (UTC).
    static let postgresEpochOffsetMicroseconds: Int64 = 946_684_800 * 1_000_000

    mutating func writeHeader() {
        bytes.append(contentsOf: [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00])  // "PGCOPY\n\377\r\n\0"
        appendInt32(0)  // flags
        appendInt32(0)  // header extension length
    }

    mutating func writeTrailer() { appendInt16(-1) }

    // MARK: Rows and fields

    /// Starts a row of `fields` columns.
    public mutating func beginRow(fields: Int) { appendInt16(Int16(fields)) }

    /// A NULL field.
    public mutating func null() { appendInt32(-1) }

    /// `uuid`.
    public mutating func uuid(_ value: UUID) {
        appendInt32(16)
        withUnsafeBytes(of: value.uuid) { bytes.append(contentsOf: $0) }
    }

    /// `integer` (int4).
    public mutating func int32(_ value: Int32) {
        appendInt32(4)
        appendInt32(value)
    }

    /// `bigint` (int8).
    public mutating func int64(_ value: Int64) {
        appendInt32(8)
        appendInt64(value)
    }

    /// `boolean`.
    public mutating func bool(_ value: Bool) {
        appendInt32(1)
        bytes.append(value ? 1 : 0)
    }

    /// `text`, `varchar`, `char(n)` or an enum label.
    public mutating func text(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            appendInt32(Int32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// `text` from bytes that are already UTF-8.
    public mutating func text(utf8: [UInt8]) {
        appendInt32(Int32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// A `text` field assembled in pieces: `build` appends UTF-8 with the ``TextBuilder``'s methods.
    public mutating func text(_ build: (inout TextBuilder) -> Void) {
        let lengthAt = bytes.count
        appendInt32(0)
        var builder = TextBuilder(bytes: bytes)
        bytes = []
        build(&builder)
        bytes = builder.bytes
        let length = UInt32(bytes.count - lengthAt - 4)
        bytes[lengthAt] = UInt8(truncatingIfNeeded: length >> 24)
        bytes[lengthAt + 1] = UInt8(truncatingIfNeeded: length >> 16)
        bytes[lengthAt + 2] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[lengthAt + 3] = UInt8(truncatingIfNeeded: length)
    }

    /// `jsonb` from JSON text.
    public mutating func jsonb(_ json: String) {
        var json = json
        json.withUTF8 { utf8 in
            appendInt32(Int32(utf8.count + 1))
            bytes.append(1)  // jsonb binary format version
            bytes.append(contentsOf: utf8)
        }
    }

    /// `timestamptz` given as microseconds since 1970-01-01 UTC.
    public mutating func timestamp(microsecondsSince1970 value: Int64) {
        appendInt32(8)
        appendInt64(value - Self.postgresEpochOffsetMicroseconds)
    }

    /// `timestamptz` (to the microsecond).
    public mutating func timestamp(_ date: Date) {
        timestamp(microsecondsSince1970: Int64((date.timeIntervalSince1970 * 1_000_000).rounded()))
    }

    /// `numeric` holding `unscaled / 10^scale` exactly (e.g. `numeric(12345, scale: 2)` is 123.45).
    /// `scale` is 0…8.
    public mutating func numeric(_ unscaled: Int64, scale: Int) {
        precondition((0...8).contains(scale), "numeric scale must be 0…8")
        // Base-10000 digits, with the fraction padded to whole groups of four decimal digits.
        let fractionGroups = (scale + 3) / 4
        var magnitude = unscaled.magnitude
        for _ in 0..<(fractionGroups * 4 - scale) { magnitude *= 10 }
        var groups = 0
        var top: UInt64 = 1  // 10000^(groups - 1)
        var rest = magnitude
        while rest > 0 {
            groups += 1
            rest /= 10_000
            if rest > 0 { top *= 10_000 }
        }
        var trailingZeroGroups = 0  // trailing zero groups carry nothing
        rest = magnitude
        while rest > 0, rest % 10_000 == 0 {
            trailingZeroGroups += 1
            rest /= 10_000
        }
        let count = groups - trailingZeroGroups
        appendInt32(Int32(8 + 2 * count))
        appendInt16(Int16(count))
        appendInt16(count == 0 ? 0 : Int16(groups - 1 - fractionGroups))
        appendInt16(unscaled < 0 ? 0x4000 : 0)
        appendInt16(Int16(scale))
        rest = magnitude
        for _ in 0..<count {
            appendInt16(Int16(rest / top))
            rest %= top
            top /= 10_000
        }
    }

    // MARK: Big-endian integers

    mutating func appendInt16(_ value: Int16) {
        let v = UInt16(bitPattern: value)
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    mutating func appendInt32(_ value: Int32) {
        let v = UInt32(bitPattern: value)
        bytes.append(UInt8(truncatingIfNeeded: v >> 24))
        bytes.append(UInt8(truncatingIfNeeded: v >> 16))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    mutating func appendInt64(_ value: Int64) {
        appendInt32(Int32(truncatingIfNeeded: value >> 32))
        appendInt32(Int32(truncatingIfNeeded: value))
    }
}

/// Appends UTF-8 to a text field being written by ``PostgresCopyWriter/text(_:)-(inout TextBuilder)``.
public struct TextBuilder: Sendable {
    var bytes: [UInt8]

    /// Appends UTF-8 bytes.
    public mutating func append(utf8: [UInt8]) { bytes.append(contentsOf: utf8) }

    /// Appends a string.
    public mutating func append(_ string: String) {
        var string = string
        string.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// Appends one ASCII byte.
    public mutating func append(ascii: UInt8) { bytes.append(ascii) }

    /// Appends a non-negative integer in decimal, zero-padded to `width` digits.
    public mutating func append(decimal value: Int, width: Int = 1) {
        precondition(value >= 0)
        var count = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            count += 1
        }
        bytes.append(contentsOf: repeatElement(48, count: max(width, count)))
        rest = value
        var index = bytes.count - 1
        repeat {
            bytes[index] = UInt8(48 + rest % 10)
            rest /= 10
            index -= 1
        } while rest > 0
    }
}
