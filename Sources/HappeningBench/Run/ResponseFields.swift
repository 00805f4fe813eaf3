#if canImport(Glibc)
    import Glibc
#endif

/// Values read out of response bodies on the loop threads, without decoding the JSON into objects (a body is
/// scanned once, in place, allocation-free).
enum ResponseFields {
    /// The string value of the first `"key":"…"` in a JSON body (flat search; enough for ids).
    static func string(_ key: String, in body: UnsafeRawBufferPointer) -> String? {
        let needle = Array("\"\(key)\"".utf8)
        guard body.count > needle.count, var index = find(needle, in: body, from: 0) else { return nil }
        index += needle.count
        while index < body.count, body[index] == 0x20 || body[index] == 0x3A { index += 1 }
        guard index < body.count, body[index] == 0x22 else { return nil }
        let start = index + 1
        var end = start
        while end < body.count, body[end] != 0x22 { end += 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: body[start..<end]), as: UTF8.self)
    }

    /// Whether `needle` occurs in `body` (the cheap test before a full scan).
    static func contains(_ needle: [UInt8], in body: UnsafeRawBufferPointer) -> Bool {
        find(needle, in: body, from: 0) != nil
    }

    /// The offset of the first `needle` in `body` at or after `offset`: memchr finds each candidate first byte.
    private static func find(_ needle: [UInt8], in body: UnsafeRawBufferPointer, from offset: Int) -> Int? {
        guard let base = body.baseAddress, let first = needle.first else { return nil }
        var position = offset
        while body.count - position >= needle.count {
            guard let hit = memchr(base + position, Int32(first), body.count - position - needle.count + 1) else { return nil }
            let candidate = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(base + candidate, needle, needle.count) == 0 { return candidate }
            position = candidate + 1
        }
        return nil
    }

    /// The integer value of `field` in the JSON object whose `"id"` is `id`, wherever that object sits (an event's
    /// detail, or one entry of a list). Strings, escapes and nesting are followed exactly; nil when no object has
    /// that id, or it has no integer `field`.
    static func integer(_ field: [UInt8], inObjectWithID id: [UInt8], in body: UnsafeRawBufferPointer) -> Int? {
        var found: Int?
        var scanner = ObjectScanner(field: field, id: id, body: body)
        scanner.run { _, value in
            found = value
            return false
        }
        return found
    }

    /// Every JSON object of `body` with a string `"id"` and an integer `field` (an event's detail, each entry of a
    /// list): `each(id's bytes, value)`, innermost objects first, in one pass.
    static func integers(_ field: [UInt8], byID body: UnsafeRawBufferPointer, _ each: (UnsafeRawBufferPointer, Int) -> Void) {
        var scanner = ObjectScanner(field: field, id: nil, body: body)
        scanner.run { id, value in
            each(id, value)
            return true
        }
    }
}

/// The single pass behind ``ResponseFields/integer(_:inObjectWithID:in:)`` and ``ResponseFields/integers(_:byID:_:)``.
private struct ObjectScanner {
    private enum Key { case id, field, other }
    private struct Frame {
        var isObject: Bool
        var expectsKey: Bool
        var key: Key = .other
        /// Where the object's `"id"` string lies (when it matches the one looked for, or any is wanted).
        var id: Range<Int>?
        var value: Int?
    }

    let field: [UInt8]
    /// The id looked for; nil: every object's.
    let id: [UInt8]?
    let body: UnsafeRawBufferPointer
    private var stack: [Frame] = []
    private static let idKey = Array("id".utf8)

    init(field: [UInt8], id: [UInt8]?, body: UnsafeRawBufferPointer) {
        (self.field, self.id, self.body) = (field, id, body)
        stack.reserveCapacity(8)
    }

    /// Scans, calling `found(id, value)` for each object with a wanted id and an integer field, until it returns false.
    mutating func run(_ found: (UnsafeRawBufferPointer, Int) -> Bool) {
        var index = 0
        while index < body.count {
            let byte = body[index]
            switch byte {
            case 0x7B, 0x5B:  // { [
                stack.append(Frame(isObject: byte == 0x7B, expectsKey: byte == 0x7B))
                index += 1
            case 0x7D, 0x5D:  // } ]
                guard let frame = stack.popLast() else { return }
                if frame.isObject, let id = frame.id, let value = frame.value, !found(UnsafeRawBufferPointer(rebasing: body[id]), value) { return }
                index += 1
            case 0x2C:  // ,
                if let last = stack.indices.last, stack[last].isObject { stack[last].expectsKey = true }
                index += 1
            case 0x3A:  // :
                if let last = stack.indices.last { stack[last].expectsKey = false }
                index += 1
            case 0x22:  // a string: a key, or a value
                let start = index + 1
                var end = start
                while end < body.count, body[end] != 0x22 { end += body[end] == 0x5C ? 2 : 1 }
                if let last = stack.indices.last, stack[last].isObject {
                    if stack[last].expectsKey {
                        stack[last].key = equals(start, end, Self.idKey) ? .id : equals(start, end, field) ? .field : .other
                    } else if stack[last].key == .id, id.map({ equals(start, end, $0) }) ?? true {
                        stack[last].id = start..<end
                    }
                }
                index = end + 1
            case 0x2D, 0x30...0x39:  // a number
                var end = index
                var value = 0
                var negative = false
                var integral = true
                while end < body.count {
                    let digit = body[end]
                    if digit >= 0x30 && digit <= 0x39 {
                        if integral { value = value &* 10 &+ Int(digit - 0x30) }
                    } else if digit == 0x2D && end == index {
                        negative = true
                    } else if digit == 0x2E || digit == 0x65 || digit == 0x45 || digit == 0x2B || digit == 0x2D {
                        integral = false
                    } else {
                        break
                    }
                    end += 1
                }
                if integral, let last = stack.indices.last, stack[last].isObject, stack[last].key == .field {
                    stack[last].value = negative ? -value : value
                }
                index = end
            default:
                index += 1
            }
        }
    }

    private func equals(_ start: Int, _ end: Int, _ text: [UInt8]) -> Bool {
        guard end - start == text.count, end <= body.count else { return false }
        for offset in 0..<text.count where body[start + offset] != text[offset] { return false }
        return true
    }
}
