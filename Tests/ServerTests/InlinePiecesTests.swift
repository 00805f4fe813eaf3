import EventAvailability
import Foundation
import HTTPTypes
import HappeningAuth
import HappeningModel
import HappeningRedis
import NIOCore
import NIOEmbedded
import NIOPosix
import Testing

@testable import Server

/// The hand-written pieces of the lean request path, against what they replace.
@Suite("Lean request path pieces")
struct InlinePiecesTests {
    @Test("UUID text written and read by hand matches Foundation's, in either case; anything else is refused")
    func uuidText() {
        for _ in 0..<200 {
            let id = UUID()
            #expect(id.lowercasedText == id.uuidString.lowercased())
            #expect(UUID(canonical: Array(id.uuidString.utf8)) == id)
            #expect(UUID(canonical: Array(id.lowercasedText.utf8)) == id)
        }
        for bad in ["", "not-a-uuid", "0000000-0000-4000-8000-000000000000", "00000000-0000-4000-8000-00000000000g", "00000000+0000-4000-8000-000000000000"] {
            #expect(UUID(canonical: Array(bad.utf8)) == nil, "\(bad)")
        }
    }

    @Test("event start read from a cached body equals JSONDecoder's; other bodies have none")
    func eventStart() throws {
        let date = Date(timeIntervalSince1970: 1_796_604_617)
        let body = try JSON.encode(["event": ["date_time": date]])
        #expect(CachedBody(ByteBuffer(bytes: body)).eventStart == date)
        #expect(CachedBody(ByteBuffer(string: #"{"events":[{"date_time":"2026-12-14T00:51:02Z"}]}"#)).eventStart == nil)
        #expect(CachedBody(ByteBuffer(string: #"{"event":{"date_time":"2026-13-14T00:51:02Z"}}"#)).eventStart == nil)
        for seconds in stride(from: 0, to: 4_102_444_800, by: 86_399 * 97) {
            let text = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            let parsed = Array(text.utf8).withUnsafeBytes { ISO8601Seconds.date($0) }
            #expect(parsed == Date(timeIntervalSince1970: TimeInterval(seconds)), "\(text)")
        }
    }

    @Test("error bodies written by hand are the JSON the encoder wrote: keys sorted, text escaped")
    func errorBody() throws {
        let error = AppError(
            status: .badRequest, code: "validation_failed", message: "quote \" backslash \\ newline \n tab \t bell \u{07} é",
            details: ["b": "2", "a": "\u{01}"])
        let body = error.body(requestID: "abc")
        let text = String(buffer: body)
        #expect(text.hasPrefix(#"{"code":"validation_failed","details":{"a":"\u0001","b":"2"},"error":"#))
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
        #expect(decoded["error"] as? String == error.message)
        #expect(decoded["request_id"] as? String == "abc")
        #expect((decoded["details"] as? [String: String]) == error.details)
        #expect(String(buffer: AppError.soldOut(left: 1).body(requestID: nil)) == #"{"code":"sold_out","error":"Not enough tickets left (1 available)"}"#)
    }

    @Test("the Date header is IMF-fixdate")
    func dateHeader() {
        #expect(HTTPDateCache.format(1_796_604_617) == "Mon, 07 Dec 2026 00:50:17 GMT")
        #expect(HTTPDateCache.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
    }

    @Test("a token verified before still expires, and a forged one is never found")
    func verifiedTokensExpire() throws {
        let tokens = TokenService(secret: "test-secret-that-is-long-enough-for-hs256-0123456789", ttl: .seconds(60))
        let issued = Date()
        let token = try tokens.issue(userId: UUID(), email: "a@example.com", role: "user", now: issued)
        #expect(tokens.verifiedClaims(token, now: issued) != nil)
        #expect(tokens.verifiedClaims(token, now: issued) != nil, "from the memory of verified tokens")
        #expect(tokens.verifiedClaims(token, now: issued.addingTimeInterval(61)) == nil, "expired, though verified before")
        var forged = Array(token.utf8)
        forged[forged.count - 2] = forged[forged.count - 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(tokens.verifiedClaims(String(decoding: forged, as: UTF8.self), now: issued) == nil)
    }
}

extension InlinePiecesTests {
    @Test("the plain booking reader agrees with JSONDecoder wherever it reads, and leaves everything else to it")
    func plainBookingBody() throws {
        let id = UUID().lowercasedText
        let read: [String: (String, Int)] = [
            #"{"event_id":"\#(id)","ticket_count":2}"#: (id, 2),
            #"{ "ticket_count" : 10 ,  "event_id" : "\#(id)" }"#: (id, 10),
            "{\n\"event_id\":\"\(id)\",\r\n\t\"ticket_count\":0}": (id, 0),
            #"{"event_id":"not-a-uuid","ticket_count":1}"#: ("not-a-uuid", 1),
        ]
        for (body, expected) in read {
            let plain = try #require(BookingsController.BookingInput(plain: ByteBuffer(string: body)), "\(body)")
            let decoded = try #require(try JSONDecoder().decode(BookingsController.BookingInput.self, from: Data(body.utf8)))
            #expect(plain.event_id == expected.0 && plain.ticket_count == expected.1, "\(body)")
            #expect(plain.event_id == decoded.event_id && plain.ticket_count == decoded.ticket_count, "\(body)")
        }
        let left = [
            #"{"event_id":"\#(id)","ticket_count":2.0}"#, #"{"event_id":"\#(id)","ticket_count":2e0}"#,
            #"{"event_id":"\#(id)","ticket_count":-1}"#, #"{"event_id":"\#(id)","ticket_count":01}"#,
            #"{"event_id":"\#(id)","ticket_count":1234567890}"#, #"{"event_id":"\u0041\#(id)","ticket_count":1}"#,
            #"{"event_id":"\#(id)","ticket_count":1,"event_id":"\#(id)"}"#, #"{"event_id":"\#(id)","ticket_count":1,"x":1}"#,
            #"{"event_id":"\#(id)"}"#, #"{"ticket_count":1}"#, #"{"event_id":"\#(id)","ticket_count":1}x"#, #"[1]"#, "",
            #"{"event_id":"\#(id)","ticket_count":"1"}"#, #"{"event_id":null,"ticket_count":1}"#, "{\"event_id\":\"é\",\"ticket_count\":1}",
        ]
        for body in left { #expect(BookingsController.BookingInput(plain: ByteBuffer(string: body)) == nil, "\(body)") }
    }

    @Test("Connection: close is found among other tokens, in any case")
    func connectionClose() {
        func asks(_ value: String?) -> Bool {
            var head = HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/")
            if let value { head.headerFields[.connection] = value }
            return InlineResponder.asksToClose(head)
        }
        #expect(asks("close") && asks("Close") && asks(" CLOSE ") && asks("keep-alive, close") && asks("upgrade,\tclose"))
        #expect(!asks(nil) && !asks("keep-alive") && !asks("closed") && !asks("clos") && !asks(""))
    }
    @Test(
        "intake turns: a few bookings answered as read per window, the rest wait for the pump in order; at most the limit decided at once; refused ones free their place at once"
    )
    func intakeTurns() async throws {
        final class Log {
            var decided: [Int] = []
            var answered: [Int] = []
            var refusable: Set<Int> = []
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let bound = try await loop.submit { NIOLoopBound((IntakeTurns(limit: 2, perWindow: 3, loop: loop), Log()), eventLoop: loop) }.get()
        /// Runs `body` on the loop, then lets its pumps run (each waits 50 µs).
        func step(_ body: @escaping @Sendable (IntakeTurns, Log, (Int) -> IntakeTurns.Waiting) -> Void) async throws -> ([Int], [Int]) {
            try await loop.submit {
                let (turns, log) = bound.value
                body(turns, log) { number in
                    IntakeTurns.Waiting(
                        refused: {
                            guard log.refusable.contains(number) else { return false }
                            log.answered.append(number)
                            return true
                        },
                        decide: {
                            log.decided.append(number)
                            return true
                        })
                }
            }.get()
            try await Task.sleep(for: .milliseconds(20))
            return try await loop.submit { (bound.value.1.decided, bound.value.1.answered) }.get()
        }
        var (decided, answered) = try await step { turns, _, booking in
            for number in 1...6 {
                if turns.mayAnswerNow() { turns.take(booking(number)) } else { turns.wait(booking(number)) }
            }
        }
        #expect(decided == [1, 2] && answered.isEmpty, "three answered as read, two decided at once; the rest wait")
        (decided, answered) = try await step { turns, log, _ in
            log.refusable = [3, 5]
            turns.sweep()
        }
        #expect(decided == [1, 2] && answered == [3], "3 is refused; 4 waits for a turn and holds 5 and 6 behind it")
        (decided, answered) = try await step { turns, _, _ in turns.finished() }
        #expect(decided == [1, 2, 4] && answered == [3, 5], "4 takes the freed turn, 5 is refused, 6 waits")
        (decided, answered) = try await step { turns, _, _ in turns.finished() }
        #expect(decided == [1, 2, 4, 6])
        // A booking whose connection closed starts nothing, and the one behind it gets the turn.
        (decided, answered) = try await step { turns, _, booking in
            turns.finished()
            turns.wait(IntakeTurns.Waiting(refused: { false }, decide: { false }))
            turns.wait(booking(7))
        }
        #expect(decided == [1, 2, 4, 6, 7])
        try await group.shutdownGracefully()
    }

    @Test("the pump takes a quarter while a burst is still being read, all its share for a steady stream or once the reading stopped")
    func pumpShare() {
        #expect(IntakeTurns.pumpShare(waiting: 100, afterLastPump: 0, perWindow: 16) == 4)
        #expect(IntakeTurns.pumpShare(waiting: 120, afterLastPump: 96, perWindow: 16) == 4, "more than a share read since the last pump")
        #expect(IntakeTurns.pumpShare(waiting: 100, afterLastPump: 96, perWindow: 16) == 16, "a steady stream's few: not a burst")
        #expect(IntakeTurns.pumpShare(waiting: 96, afterLastPump: 96, perWindow: 16) == 16, "nothing read since: the reading stopped")
        #expect(IntakeTurns.pumpShare(waiting: 50, afterLastPump: 96, perWindow: 16) == 16)
        #expect(IntakeTurns.pumpShare(waiting: 9, afterLastPump: 1, perWindow: 3) == 1, "never none")
    }

    @Test("a pump due again before the loop has read anything yields (NIO runs tasks that fall due in the same pass)")
    func pumpYields() {
        let loop = EmbeddedEventLoop()
        let turns = IntakeTurns(limit: 10, perWindow: 4, loop: loop)
        var refused = 0
        for _ in 0..<12 {
            turns.wait(
                IntakeTurns.Waiting(
                    refused: {
                        refused += 1
                        return true
                    }, decide: { true }))
        }
        turns.readHappened()
        loop.advanceTime(by: .microseconds(50))
        #expect(refused == 1, "a burst still growing: a quarter of the share")
        loop.advanceTime(by: .microseconds(50))
        #expect(refused == 1, "nothing read since the last pump: this one only waits longer")
        loop.advanceTime(by: .microseconds(200))
        #expect(refused == 5, "the longer wait takes its share whatever happened")
        turns.readHappened()
        loop.advanceTime(by: .microseconds(50))
        #expect(refused == 9, "something was read: the next pump works at once")
        loop.advanceTime(by: .microseconds(50))
        #expect(refused == 9)
        loop.advanceTime(by: .microseconds(200))
        #expect(refused == 12)
        _ = try? loop.syncShutdownGracefully()
    }

    @Test("a sale decided (tickets left changed) keeps the sold-out memory; the gate's reopened key drops it")
    func soldOutMemoryAndReopened() {
        let keys = TicketsLeftKeys(prefix: "p:")
        let near = NearCaches(capacity: 16, ttl: .seconds(60), keys: keys)
        near.apply(.live)
        let event = UUID()
        near.soldOut.put(event, 0)
        near.tickets.put(event, Availability(available: 3, version: 1))
        near.apply(.invalidated([keys.availability(event)]))
        #expect(near.tickets.get(event) == nil && near.soldOut.get(event) == 0)
        near.apply(.invalidated([keys.gateReopened(event)]))
        #expect(near.soldOut.get(event) == nil)
        #expect(keys.reopenedEvent(inKey: keys.gateReopened(event)) == event && keys.reopenedEvent(inKey: keys.availability(event)) == nil)
    }
}
