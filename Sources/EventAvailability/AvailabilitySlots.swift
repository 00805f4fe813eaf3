import Foundation
import HappeningModel

#if canImport(Glibc)
    import Glibc
#endif

/// Where a cached JSON body of events (one event, or a page of them) holds each event's tickets left, so a
/// fresh value can be written in without decoding the body.
///
/// Every event object carries exactly one `"id":"<uuid>"` and one `"available_tickets":<n>`, and no other
/// key of the body is named `id` or `available_tickets`; the i-th of each belong to the same event, whatever
/// the key order. Neither pattern can occur inside a JSON string (its quotes would be escaped), so titles and
/// descriptions cannot fake one. A body where the counts differ is not one of ours: ``init(scanning:)`` is nil.
public struct AvailabilitySlots: Sendable, Equatable {
    /// The events, in body order.
    public let ids: [UUID]
    /// The byte range of each event's `available_tickets` digits.
    let ranges: [Range<Int>]
    /// The tickets left each event's digits say now (so an answer whose values are all unchanged is served
    /// as it is, without a copy).
    let written: [Int?]

    private static let availableKey = Array(#""available_tickets":"#.utf8)
    private static let idKey = Array(#""id":""#.utf8)

    /// Scans a body; nil when it does not pair every id with one `available_tickets`.
    public init?(scanning body: UnsafeRawBufferPointer) {
        var ranges: [Range<Int>] = []
        var written: [Int?] = []
        for start in Self.occurrences(of: Self.availableKey, in: body) {
            var end = start + Self.availableKey.count
            while end < body.count, body[end] == UInt8(ascii: " ") { end += 1 }
            let digits = end
            while end < body.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(body[end]) || body[end] == UInt8(ascii: "-") { end += 1 }
            guard end > digits else { return nil }
            ranges.append(digits..<end)
            written.append(Int(String(decoding: UnsafeRawBufferPointer(rebasing: body[digits..<end]), as: UTF8.self)))
        }
        var ids: [UUID] = []
        for start in Self.occurrences(of: Self.idKey, in: body) {
            let from = start + Self.idKey.count
            guard from + 36 <= body.count,
                let id = UUID(canonical: UnsafeRawBufferPointer(rebasing: body[from..<(from + 36)]))
            else { return nil }
            ids.append(id)
        }
        guard ids.count == ranges.count else { return nil }
        self.ids = ids
        self.ranges = ranges
        self.written = written
    }

    /// The tickets left the body says for `id` (nil when it does not list it).
    public func written(for id: UUID) -> Int? {
        ids.firstIndex(of: id).flatMap { written[$0] }
    }

    /// Scans a body held in an array.
    public init?(scanning body: [UInt8]) {
        guard let slots = body.withUnsafeBytes({ AvailabilitySlots(scanning: $0) }) else { return nil }
        self = slots
    }

    /// True when some event's value in `values` is not the one the body holds (then ``merged(_:values:)``
    /// makes a new body; otherwise the body is already current).
    public func differs(from values: [UUID: Int]) -> Bool {
        for (id, held) in zip(ids, written) {
            if let value = values[id], value != held { return true }
        }
        return false
    }

    /// The body with each event's tickets left replaced by `values[id]` (events without a value keep theirs).
    public func merged(_ body: UnsafeRawBufferPointer, values: [UUID: Int]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 8 * ranges.count)
        var copied = 0
        for (id, range) in zip(ids, ranges) {
            guard let value = values[id] else { continue }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: body[copied..<range.lowerBound]))
            out.append(contentsOf: String(value).utf8)
            copied = range.upperBound
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: body[copied...]))
        return out
    }

    /// Start offsets of every occurrence of `pattern` (memchr for its first byte, memcmp for the rest: glibc's
    /// memmem is not visible to Swift).
    private static func occurrences(of pattern: [UInt8], in body: UnsafeRawBufferPointer) -> [Int] {
        guard let base = body.baseAddress, body.count >= pattern.count else { return [] }
        var found: [Int] = []
        var offset = 0
        let last = body.count - pattern.count
        pattern.withUnsafeBytes { needle in
            while offset <= last, let hit = memchr(base + offset, Int32(pattern[0]), last - offset + 1) {
                let at = base.distance(to: UnsafeRawPointer(hit))
                if memcmp(hit, needle.baseAddress!, pattern.count) == 0 {
                    found.append(at)
                    offset = at + pattern.count
                } else {
                    offset = at + 1
                }
            }
        }
        return found
    }
}
