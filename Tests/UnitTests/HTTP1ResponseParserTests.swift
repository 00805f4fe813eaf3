import Testing

@testable import HappeningLoad

/// Feeds `text` to `parser` in one piece.
private func feed(_ parser: inout HTTP1ResponseParser, _ text: String) -> HTTP1ResponseParser.Outcome {
    Array(text.utf8).withUnsafeBytes { parser.consume($0) }
}

/// Feeds `bytes` in pieces cut at `cuts`; returns every outcome, in order.
private func feed(_ parser: inout HTTP1ResponseParser, _ bytes: [UInt8], cutAt cuts: [Int]) -> [HTTP1ResponseParser.Outcome] {
    var outcomes: [HTTP1ResponseParser.Outcome] = []
    var start = 0
    for end in cuts + [bytes.count] where end >= start {
        outcomes.append(bytes[start..<end].withUnsafeBytes { parser.consume($0) })
        start = end
    }
    return outcomes
}

private func body(_ parser: HTTP1ResponseParser) -> String {
    parser.withBody { String(decoding: $0, as: UTF8.self) }
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
        var parser = HTTP1ResponseParser()
        #expect(feed(&parser, lengthResponse) == .complete)
        #expect(parser.status == 200)
        #expect(parser.keepAlive)
        #expect(parser.cacheHit == true)
        #expect(parser.bodyBytes == 13)
        #expect(body(parser) == "hello, world!")
        let headerLength = lengthResponse.utf8.count - 13
        #expect(parser.bodyRange == headerLength..<(headerLength + 13))
    }

    @Test("a chunked response is de-chunked (extensions, upper-case hex, trailers) when the body is kept")
    func chunked() {
        var parser = HTTP1ResponseParser()
        parser.keepsBody = true
        #expect(feed(&parser, chunkedResponse) == .complete)
        #expect(parser.status == 201)
        #expect(parser.bodyBytes == 22)
        #expect(body(parser) == "hello, world0123456789")
        #expect(parser.bodyRange == nil)
    }

    @Test("a chunked body not asked for is counted but not kept")
    func chunkedNotKept() {
        var parser = HTTP1ResponseParser()
        #expect(feed(&parser, chunkedResponse) == .complete)
        #expect(parser.bodyBytes == 22)
        #expect(body(parser).isEmpty)
    }

    @Test("Transfer-Encoding: chunked wins over Content-Length")
    func chunkedBeatsLength() {
        var parser = HTTP1ResponseParser()
        parser.keepsBody = true
        #expect(feed(&parser, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n") == .complete)
        #expect(body(parser) == "abc")
    }

    @Test("split at every byte: needs more until the last byte, then the same response", arguments: [lengthResponse, chunkedResponse])
    func everySplit(response: String) {
        let bytes = Array(response.utf8)
        for cut in 1..<bytes.count {
            var parser = HTTP1ResponseParser()
            parser.keepsBody = true
            let outcomes = feed(&parser, bytes, cutAt: [cut])
            #expect(outcomes == [.needMore, .complete], "cut at \(cut)")
            #expect(parser.bodyBytes == (response == lengthResponse ? 13 : 22), "cut at \(cut)")
            #expect(body(parser) == (response == lengthResponse ? "hello, world!" : "hello, world0123456789"), "cut at \(cut)")
        }
    }

    @Test("one byte at a time", arguments: [lengthResponse, chunkedResponse])
    func byteByByte(response: String) {
        let bytes = Array(response.utf8)
        var parser = HTTP1ResponseParser()
        parser.keepsBody = true
        let outcomes = feed(&parser, bytes, cutAt: Array(1..<bytes.count))
        #expect(outcomes.dropLast().allSatisfy { $0 == .needMore })
        #expect(outcomes.last == .complete)
        #expect(parser.status == (response == lengthResponse ? 200 : 201))
        #expect(body(parser) == (response == lengthResponse ? "hello, world!" : "hello, world0123456789"))
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
        var parser = HTTP1ResponseParser()
        #expect(feed(&parser, response) == .complete)
        #expect(parser.keepAlive == keeps)
    }

    @Test(
        "X-Cache: HIT (any case) is a hit, anything else a miss, absent unknown",
        arguments: [
            ("X-Cache: HIT\r\n", true as Bool?), ("x-cache: hit\r\n", true), ("X-Cache:MISS\r\n", false), ("X-Cache: \r\n", false), ("", nil),
        ])
    func cacheVerdict(header: String, hit: Bool?) {
        var parser = HTTP1ResponseParser()
        #expect(feed(&parser, "HTTP/1.1 200 OK\r\n\(header)Content-Length: 2\r\n\r\nok") == .complete)
        #expect(parser.cacheHit == hit)
    }

    @Test("204, 304 and 1xx have no body whatever Content-Length says", arguments: [204, 304, 101])
    func bodiless(status: Int) {
        var parser = HTTP1ResponseParser()
        #expect(feed(&parser, "HTTP/1.1 \(status) X\r\nContent-Length: 50\r\n\r\n") == .complete)
        #expect(parser.status == status)
        #expect(parser.bodyBytes == 0)
    }

    @Test("a body shorter than Content-Length needs more; bytes beyond it are malformed (nothing is pipelined)")
    func lengthBoundaries() {
        var short = HTTP1ResponseParser()
        #expect(feed(&short, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhell") == .needMore)
        #expect(feed(&short, "o") == .complete)
        #expect(body(short) == "hello")

        var pipelined = HTTP1ResponseParser()
        let two = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        #expect(feed(&pipelined, two) == .malformed)
    }

    @Test("reset forgets one response so the next on the connection parses afresh")
    func resetBetweenResponses() {
        var parser = HTTP1ResponseParser()
        parser.keepsBody = true
        #expect(feed(&parser, chunkedResponse) == .complete)
        parser.reset()
        #expect(parser.isEmpty)
        #expect(parser.status == 0 && parser.bodyBytes == 0 && parser.cacheHit == nil && parser.keepAlive)
        #expect(feed(&parser, "HTTP/1.0 404 Not Found\r\nX-Cache: MISS\r\nContent-Length: 4\r\n\r\nnope") == .complete)
        #expect(parser.status == 404)
        #expect(!parser.keepAlive)
        #expect(parser.cacheHit == false)
        #expect(body(parser) == "nope")
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
        var parser = HTTP1ResponseParser()
        #expect(feed(&parser, response) == .malformed)
    }

    @Test("a header block that never ends is malformed once it passes 64 KiB, not buffered for ever")
    func endlessHeaders() {
        var parser = HTTP1ResponseParser()
        #expect(feed(&parser, "HTTP/1.1 200 OK\r\n") == .needMore)
        let filler = "X-Filler: " + String(repeating: "a", count: 1_000) + "\r\n"
        var outcome = HTTP1ResponseParser.Outcome.needMore
        var fed = 0
        while outcome == .needMore, fed < 100 {
            outcome = feed(&parser, filler)
            fed += 1
        }
        #expect(outcome == .malformed)
        #expect(fed > 60 && fed < 70, "refused just past 64 KiB, after \(fed) KB")
    }
}
