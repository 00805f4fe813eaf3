/// An incremental HTTP/1.1 response parser for the raw load engine: status, `Content-Length` or chunked
/// bodies, `Connection: close`, and the `X-Cache` verdict, without building strings (and, for an answer whose body
/// is kept, its `X-Request-Id`).
///
/// Feed it bytes with ``consume(_:)`` until it reports a complete response. A response that arrives in one read (the
/// common case) is parsed where it lies, in the loop's receive buffer, and never copied: the parser then holds no
/// memory of its own, which matters with one parser per open connection (a fleet's barrier holds 10,000 per
/// process). Only a response spread over several reads is gathered in ``buffer``. The body is at `bodyRange` for a
/// `Content-Length` response, or assembled in `chunkedBody`; ``withBody(_:)`` reads it until ``reset()``.
struct HTTP1ResponseParser {
    enum Outcome { case needMore, complete, malformed }

    private(set) var buffer: [UInt8] = []
    /// The caller's bytes of a response parsed where they lie (valid until ``reset()``, which the caller does before it
    /// reads into them again).
    private var borrowed: UnsafeRawBufferPointer?
    private(set) var status = 0
    private(set) var keepAlive = true
    private(set) var cacheHit: Bool?
    /// `X-Request-Id`, read only when ``keepsBody`` (what a witness of a refused booking quotes).
    private(set) var requestID: String?
    private(set) var bodyBytes = 0
    /// Where the body is in the response's bytes (Content-Length responses).
    private(set) var bodyRange: Range<Int>?
    /// The de-chunked body when the caller asked to keep it.
    private(set) var chunkedBody: [UInt8] = []
    var keepsBody = false

    private var headerEnd: Int?  // index after the blank line
    private var scanFrom = 0
    private var contentLength: Int?
    private var chunked = false
    private var chunkCursor = 0  // chunked: where the next chunk-size line starts
    private var finished = false

    /// Forgets the previous response (the buffer keeps its capacity).
    mutating func reset() {
        borrowed = nil
        buffer.removeAll(keepingCapacity: true)
        chunkedBody.removeAll(keepingCapacity: true)
        status = 0
        keepAlive = true
        cacheHit = nil
        requestID = nil
        bodyBytes = 0
        bodyRange = nil
        headerEnd = nil
        scanFrom = 0
        contentLength = nil
        chunked = false
        chunkCursor = 0
        finished = false
    }

    var isEmpty: Bool { buffer.isEmpty && borrowed == nil }

    /// Adds received bytes and parses as far as they allow. `bytes` may be read again, until ``reset()``, when they
    /// held a whole response.
    mutating func consume(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        if buffer.isEmpty, borrowed == nil {
            let outcome = parse(bytes)
            if outcome != .needMore {
                borrowed = bytes
                return outcome
            }
            buffer.append(contentsOf: bytes)  // what was parsed so far is at the same offsets
            return .needMore
        }
        buffer.append(contentsOf: bytes)
        let gathered = buffer  // shares the storage: parsing never changes `buffer`
        return gathered.withUnsafeBytes { parse($0) }
    }

    private mutating func parse(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        if headerEnd == nil {
            guard let end = findBlankLine(bytes) else { return bytes.count > 65_536 ? .malformed : .needMore }
            headerEnd = end
            guard parseHead(bytes, upTo: end) else { return .malformed }
            chunkCursor = end
        }
        guard let headerEnd else { return .needMore }
        if chunked { return parseChunks(bytes) }
        let length = contentLength ?? 0
        if bytes.count - headerEnd >= length {
            bodyRange = headerEnd..<(headerEnd + length)
            bodyBytes = length
            finished = true
            return bytes.count - headerEnd > length ? .malformed : .complete  // bytes after the response: not ours
        }
        return .needMore
    }

    /// The index after `\r\n\r\n`, searching only new bytes.
    private mutating func findBlankLine(_ buffer: UnsafeRawBufferPointer) -> Int? {
        var index = max(0, scanFrom - 3)
        while index + 3 < buffer.count {
            if buffer[index] == 13, buffer[index + 1] == 10, buffer[index + 2] == 13, buffer[index + 3] == 10 { return index + 4 }
            index += 1
        }
        scanFrom = buffer.count
        return nil
    }

    /// The largest body length (`Content-Length` or one chunk's size) taken from a target: a larger one is malformed,
    /// never an arithmetic overflow in the generator.
    static let maximumBodyLength = 1 << 32

    /// Status line and the headers that matter.
    private mutating func parseHead(_ buffer: UnsafeRawBufferPointer, upTo end: Int) -> Bool {
        // "HTTP/1.x NNN"
        guard end >= 12, buffer[0] == 0x48, buffer[1] == 0x54, buffer[2] == 0x54, buffer[3] == 0x50, buffer[4] == 0x2F else { return false }
        let minor = buffer[7]
        keepAlive = minor == 0x31  // HTTP/1.0 closes unless told otherwise
        var code = 0
        for index in 9..<12 {
            let digit = Int(buffer[index]) - 48
            guard (0...9).contains(digit) else { return false }
            code = code * 10 + digit
        }
        status = code
        var line = 0
        while line < end, !(buffer[line] == 13 && buffer[line + 1] == 10) { line += 1 }
        line += 2
        while line < end - 2 {
            var lineEnd = line
            while lineEnd < end, buffer[lineEnd] != 13 { lineEnd += 1 }
            guard header(buffer, line, lineEnd) else { return false }
            line = lineEnd + 2
        }
        if status == 204 || status == 304 || (100..<200).contains(status) {
            contentLength = 0
            chunked = false
        }
        return true
    }

    /// Reads one header line; false when it is malformed (a length past ``maximumBodyLength``).
    private mutating func header(_ buffer: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Bool {
        var colon = start
        while colon < end, buffer[colon] != 0x3A { colon += 1 }
        guard colon < end else { return true }
        var value = colon + 1
        while value < end, buffer[value] == 0x20 || buffer[value] == 0x09 { value += 1 }
        if nameIs(buffer, "content-length", start, colon) {
            var length = 0
            for index in value..<end {
                let digit = Int(buffer[index]) - 48
                guard (0...9).contains(digit) else { break }
                length = length * 10 + digit
                guard length <= Self.maximumBodyLength else { return false }
            }
            contentLength = length
        } else if nameIs(buffer, "transfer-encoding", start, colon) {
            chunked = valueContains(buffer, "chunked", value, end)
        } else if nameIs(buffer, "connection", start, colon) {
            if valueContains(buffer, "close", value, end) { keepAlive = false } else if valueContains(buffer, "keep-alive", value, end) { keepAlive = true }
        } else if nameIs(buffer, "x-cache", start, colon) {
            cacheHit = end - value >= 3 && buffer[value] | 0x20 == 0x68 && buffer[value + 1] | 0x20 == 0x69 && buffer[value + 2] | 0x20 == 0x74
        } else if keepsBody, nameIs(buffer, "x-request-id", start, colon) {
            requestID = String(decoding: UnsafeRawBufferPointer(rebasing: buffer[value..<end]), as: UTF8.self).trimmingTrailingSpaces
        }
        return true
    }

    private func nameIs(_ buffer: UnsafeRawBufferPointer, _ name: StaticString, _ start: Int, _ end: Int) -> Bool {
        guard end - start == name.utf8CodeUnitCount else { return false }
        let pointer = name.utf8Start
        for offset in 0..<(end - start) where buffer[start + offset] | 0x20 != pointer[offset] | 0x20 { return false }
        return true
    }

    private func valueContains(_ buffer: UnsafeRawBufferPointer, _ word: StaticString, _ start: Int, _ end: Int) -> Bool {
        let count = word.utf8CodeUnitCount
        guard end - start >= count else { return false }
        let pointer = word.utf8Start
        outer: for origin in start...(end - count) {
            for offset in 0..<count where buffer[origin + offset] | 0x20 != pointer[offset] { continue outer }
            return true
        }
        return false
    }

    /// Chunked body: `size\r\n data\r\n` … `0\r\n` (trailers) `\r\n`.
    private mutating func parseChunks(_ buffer: UnsafeRawBufferPointer) -> Outcome {
        while true {
            var lineEnd = chunkCursor
            while lineEnd + 1 < buffer.count, !(buffer[lineEnd] == 13 && buffer[lineEnd + 1] == 10) { lineEnd += 1 }
            guard lineEnd + 1 < buffer.count else { return .needMore }
            var size = 0
            var index = chunkCursor
            while index < lineEnd {
                let byte = buffer[index] | 0x20
                let digit: Int
                if byte >= 0x30, byte <= 0x39 { digit = Int(byte) - 0x30 } else if byte >= 0x61, byte <= 0x66 { digit = Int(byte) - 0x61 + 10 } else { break }
                size = size * 16 + digit
                guard size <= Self.maximumBodyLength else { return .malformed }
                index += 1
            }
            if index == chunkCursor { return .malformed }
            let dataStart = lineEnd + 2
            if size == 0 {
                // Trailers end with an empty line.
                var cursor = dataStart
                while true {
                    var end = cursor
                    while end + 1 < buffer.count, !(buffer[end] == 13 && buffer[end + 1] == 10) { end += 1 }
                    guard end + 1 < buffer.count else { return .needMore }
                    if end == cursor {
                        finished = true
                        return .complete
                    }
                    cursor = end + 2
                }
            }
            guard buffer.count >= dataStart + size + 2 else { return .needMore }
            bodyBytes += size
            if keepsBody { chunkedBody.append(contentsOf: buffer[dataStart..<(dataStart + size)]) }
            chunkCursor = dataStart + size + 2
        }
    }

    /// The body bytes, for capture.
    func withBody<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        if chunked { return chunkedBody.withUnsafeBytes(body) }
        guard let range = bodyRange else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        if let borrowed { return body(UnsafeRawBufferPointer(rebasing: borrowed[range])) }
        return buffer.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }
}

extension String {
    /// Without the spaces and tabs at its end (a header value's optional whitespace).
    var trimmingTrailingSpaces: String {
        var text = Substring(self)
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
