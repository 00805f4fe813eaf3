import Testing

@testable import HappeningLoad

/// Feeds a parser the way the raw loop does: every piece is read into one receive buffer, overwritten by the next
/// piece, so a parser that kept pointing at an earlier piece would read the wrong bytes.
@dynamicMemberLookup
private final class Receiver {
    private(set) var parser = HTTP1ResponseParser()
    private let received = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 17, alignment: 16)

    deinit { received.deallocate() }

    subscript<T>(dynamicMember path: KeyPath<HTTP1ResponseParser, T>) -> T { parser[keyPath: path] }
    subscript<T>(dynamicMember path: WritableKeyPath<HTTP1ResponseParser, T>) -> T {
        get { parser[keyPath: path] }
        set { parser[keyPath: path] = newValue }
    }

    func reset() { parser.reset() }

    /// Feeds `text` in one piece.
    func feed(_ text: String) -> HTTP1ResponseParser.Outcome { feed(Array(text.utf8)[...]) }

    /// Feeds `bytes` in one piece.
    func feed(_ bytes: ArraySlice<UInt8>) -> HTTP1ResponseParser.Outcome {
        received.copyBytes(from: bytes)
        return parser.consume(UnsafeRawBufferPointer(rebasing: received[0..<bytes.count]))
    }

    /// Feeds `bytes` in pieces cut at `cuts`; returns every outcome, in order.
    func feed(_ bytes: [UInt8], cutAt cuts: [Int]) -> [HTTP1ResponseParser.Outcome] {
        var outcomes: [HTTP1ResponseParser.Outcome] = []
        var start = 0
        for end in cuts + [bytes.count] where end >= start {
            received.initializeMemory(as: UInt8.self, repeating: 0x2A)  // what an earlier piece left is gone
            outcomes.append(feed(bytes[start..<end]))
            start = end
        }
        return outcomes
    }

    var body: String { parser.withBody { String(decoding: $0, as: UTF8.self) } }
}

private let lengthResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nX-Cache: HIT\r\n\r\nhello, world!"
private let chunkedResponse =
    "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;name=value\r\n, world\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"

/// The raw load engine's incremental HTTP/1.1 response parser: `Content-Length` and chunked framing, bytes
/// arriving in any split, keep-alive rules, the `X-Cache` verdict, bodiless statuses and malformed input.
@Suite("HTTP/1 response parser", .timeLimit(.minutes(10)))
struct HTTP1ResponseParserTests {
    @Test("a Content-Length response: status, headers and the exact body")
    func contentLength() {
        let parser = Receiver()
        #expect(parser.feed(lengthResponse) == .complete)
        #expect(parser.status == 200)
        #expect(parser.keepAlive)
        #expect(parser.cacheHit == true)
        #expect(parser.bodyBytes == 13)
        #expect(parser.body == "hello, world!")
        let headerLength = lengthResponse.utf8.count - 13
        #expect(parser.bodyRange == headerLength..<(headerLength + 13))
    }

    @Test("X-Request-Id is read when the body is kept (a refusal's witness), and not otherwise")
    func requestID() {
        let response = "HTTP/1.1 422 Unprocessable Content\r\nx-request-ID:  r-42 \r\nContent-Length: 2\r\n\r\n{}"
        let kept = Receiver()
        kept.keepsBody = true
        #expect(kept.feed(response) == .complete && kept.requestID == "r-42")
        kept.reset()
        #expect(kept.requestID == nil)
        let counted = Receiver()
        #expect(counted.feed(response) == .complete && counted.requestID == nil)
    }

    @Test("a response read in one piece is parsed where it lies (the parser keeps no copy); one read in pieces is gathered")
    func inPlace() {
        let parser = Receiver()
        #expect(parser.feed(lengthResponse) == .complete)
        #expect(parser.buffer.isEmpty && parser.buffer.capacity == 0, "nothing copied: no memory per connection")
        #expect(!parser.isEmpty)
        #expect(parser.body == "hello, world!")
        parser.reset()
        #expect(parser.isEmpty)

        let bytes = Array(lengthResponse.utf8)
        #expect(parser.feed(bytes, cutAt: [40]) == [.needMore, .complete])
        #expect(parser.buffer == bytes, "gathered: the first piece's bytes were copied before the next read overwrote them")
        #expect(parser.body == "hello, world!")
    }

    @Test("a chunked response is de-chunked (extensions, upper-case hex, trailers) when the body is kept")
    func chunked() {
        let parser = Receiver()
        parser.keepsBody = true
        #expect(parser.feed(chunkedResponse) == .complete)
        #expect(parser.status == 201)
        #expect(parser.bodyBytes == 22)
        #expect(parser.body == "hello, world0123456789")
        #expect(parser.bodyRange == nil)
    }

    @Test("a chunked body not asked for is counted but not kept")
    func chunkedNotKept() {
        let parser = Receiver()
        #expect(parser.feed(chunkedResponse) == .complete)
        #expect(parser.bodyBytes == 22)
        #expect(parser.body.isEmpty)
    }

    @Test("Transfer-Encoding: chunked wins over Content-Length")
    func chunkedBeatsLength() {
        let parser = Receiver()
        parser.keepsBody = true
        #expect(parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n") == .complete)
        #expect(parser.body == "abc")
    }

    @Test("split at every byte: needs more until the last byte, then the same response", arguments: [lengthResponse, chunkedResponse])
    func everySplit(response: String) {
        let bytes = Array(response.utf8)
        for cut in 1..<bytes.count {
            let parser = Receiver()
            parser.keepsBody = true
            let outcomes = parser.feed(bytes, cutAt: [cut])
            #expect(outcomes == [.needMore, .complete], "cut at \(cut)")
            #expect(parser.bodyBytes == (response == lengthResponse ? 13 : 22), "cut at \(cut)")
            #expect(parser.body == (response == lengthResponse ? "hello, world!" : "hello, world0123456789"), "cut at \(cut)")
        }
    }

    @Test("one byte at a time", arguments: [lengthResponse, chunkedResponse])
    func byteByByte(response: String) {
        let bytes = Array(response.utf8)
        let parser = Receiver()
        parser.keepsBody = true
        let outcomes = parser.feed(bytes, cutAt: Array(1..<bytes.count))
        #expect(outcomes.dropLast().allSatisfy { $0 == .needMore })
        #expect(outcomes.last == .complete)
        #expect(parser.status == (response == lengthResponse ? 200 : 201))
        #expect(parser.body == (response == lengthResponse ? "hello, world!" : "hello, world0123456789"))
    }

    @Test(
        "keep-alive: HTTP/1.1 keeps unless told to close; HTTP/1.0 closes unless told to keep",
        arguments: [
            ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true),
            ("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false),
            ("HTTP/1.1 200 OK\r\nCONNECTION: Close\r\nContent-Length: 0\r\n\r\n", false),
            ("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
            ("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", true),
        ])
    func keepAlive(response: String, keeps: Bool) {
        let parser = Receiver()
        #expect(parser.feed(response) == .complete)
        #expect(parser.keepAlive == keeps)
    }

    @Test(
        "X-Cache: HIT (any case) is a hit, anything else a miss, absent unknown",
        arguments: [
            ("X-Cache: HIT\r\n", true as Bool?), ("x-cache: hit\r\n", true), ("X-Cache:MISS\r\n", false), ("X-Cache: \r\n", false), ("", nil),
        ])
    func cacheVerdict(header: String, hit: Bool?) {
        let parser = Receiver()
        #expect(parser.feed("HTTP/1.1 200 OK\r\n\(header)Content-Length: 2\r\n\r\nok") == .complete)
        #expect(parser.cacheHit == hit)
    }

    @Test("204, 304 and 1xx have no body whatever Content-Length says", arguments: [204, 304, 101])
    func bodiless(status: Int) {
        let parser = Receiver()
        #expect(parser.feed("HTTP/1.1 \(status) X\r\nContent-Length: 50\r\n\r\n") == .complete)
        #expect(parser.status == status)
        #expect(parser.bodyBytes == 0)
    }

    @Test("attack: a target's overflowing Content-Length or chunk size is malformed, never a trap in the generator")
    func overflowingLengths() {
        let huge = Receiver()
        #expect(huge.feed("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999999\r\n\r\n") == .malformed)
        let chunk = Receiver()
        #expect(chunk.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\nx\r\n") == .malformed)
        let largest = Receiver()
        #expect(largest.feed("HTTP/1.1 200 OK\r\nContent-Length: 4294967296\r\n\r\nabc") == .needMore, "4 GiB is still a length")
    }

    @Test("a body shorter than Content-Length needs more; bytes beyond it are malformed (nothing is pipelined)")
    func lengthBoundaries() {
        let short = Receiver()
        #expect(short.feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhell") == .needMore)
        #expect(short.feed("o") == .complete)
        #expect(short.body == "hello")

        let pipelined = Receiver()
        let two = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        #expect(pipelined.feed(two) == .malformed)
    }

    @Test("reset forgets one response so the next on the connection parses afresh")
    func resetBetweenResponses() {
        let parser = Receiver()
        parser.keepsBody = true
        #expect(parser.feed(chunkedResponse) == .complete)
        parser.reset()
        #expect(parser.isEmpty)
        #expect(parser.status == 0 && parser.bodyBytes == 0 && parser.cacheHit == nil && parser.keepAlive)
        #expect(parser.feed("HTTP/1.0 404 Not Found\r\nX-Cache: MISS\r\nContent-Length: 4\r\n\r\nnope") == .complete)
        #expect(parser.status == 404)
        #expect(!parser.keepAlive)
        #expect(parser.cacheHit == false)
        #expect(parser.body == "nope")
        #expect(parser.keepsBody, "reset keeps the caller's choice")
    }

    @Test(
        "malformed: not HTTP, a bad status code, a bad chunk size",
        arguments: [
            "SMTP/1.1 200 OK\r\n\r\n",
            "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        ])
    func malformed(response: String) {
        let parser = Receiver()
        #expect(parser.feed(response) == .malformed)
    }

    @Test("a header block that never ends is malformed once it passes 64 KiB, not buffered for ever")
    func endlessHeaders() {
        let parser = Receiver()
        #expect(parser.feed("HTTP/1.1 200 OK\r\n") == .needMore)
        let filler = "X-Filler: " + String(repeating: "a", count: 1_000) + "\r\n"
        var outcome = HTTP1ResponseParser.Outcome.needMore
        var fed = 0
        while outcome == .needMore, fed < 100 {
            outcome = parser.feed(filler)
            fed += 1
        }
        #expect(outcome == .malformed)
        #expect(fed > 60 && fed < 70, "refused just past 64 KiB, after \(fed) KB")
    }
}
