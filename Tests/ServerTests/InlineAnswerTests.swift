import Foundation
import HTTPTypes
import HappeningAuth
import HappeningSystem
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import TestSupport
import Testing

@testable import Server

/// The answers given on the event loop (``InlineRoutes`` through ``InlineResponder``), over real sockets: they say
/// what the router would say, leave in request order, and everything they cannot answer reaches the router.
@Suite("Inline answers")
struct InlineAnswerTests {
    /// A live server (real sockets, the server's own channel) with an admin, and its dependencies.
    private func withLiveServer(
        _ overrides: [String: String] = [:], _ body: @Sendable (any TestClientProtocol, AppDependencies, _ admin: String) async throws -> Void
    ) async throws {
        let admin = uniqueEmail("admin").lowercased()
        let configuration = try ServerConfiguration(testSettings(overrides.merging(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1"]) { $1 }))
        let logger = Logger(label: "test")
        let deps = try await AppDependencies(configuration, metrics: PrometheusCollectorRegistry(), logger: logger)
        try await buildApplication(configuration, deps: deps, logger: logger).test(.live) { client in
            try await body(client, deps, try await Fixtures.adminToken(client, email: admin))
        }
    }

    /// `happening_inline_answers_total{route}` as the server's registry holds it.
    private func inlineAnswers(_ deps: AppDependencies, route: String) -> Int {
        var buffer = [UInt8]()
        deps.metrics.emit(into: &buffer)
        let prefix = #"happening_inline_answers_total{route="\#(route)"} "#
        let line = String(decoding: buffer, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix(prefix) }
        return line.flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
    }

    /// A counter without labels as the server's registry holds it.
    private func metric(_ deps: AppDependencies, _ name: String) -> Int {
        var buffer = [UInt8]()
        deps.metrics.emit(into: &buffer)
        let line = String(decoding: buffer, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Int($0.dropFirst(name.count + 1)) } ?? 0
    }

    private func createEvent(_ client: some TestClientProtocol, admin: String, tickets: Int) async throws -> String {
        let created = try await client.send(.post, "/api/events", json: eventJSON(tickets: tickets), token: admin)
        #expect(created.status == .created)
        return try #require(try created.json()["event"] as? [String: Any])["id"] as! String
    }

    @Test("a held event is answered on the event loop with the router's body and headers")
    func heldEvent() async throws {
        try await withLiveServer { client, deps, admin in
            let event = try await createEvent(client, admin: admin, tickets: 40)
            let route = "/api/events/{id}"
            let first = try await client.send(.get, "/api/events/\(event)")
            #expect(first.status == .ok)
            // The copy is held once Redis answered with it: ask until one answer comes from memory (bounded).
            var inline: TestResponse?
            for _ in 0..<50 where inline == nil {
                let before = inlineAnswers(deps, route: route)
                let response = try await client.send(.get, "/api/events/\(event)")
                if inlineAnswers(deps, route: route) == before + 1 { inline = response } else { try await Task.sleep(for: .milliseconds(20)) }
            }
            let answer = try #require(inline, "no answer came from memory")
            #expect(answer.status == .ok)
            #expect(NSDictionary(dictionary: try answer.json()) == NSDictionary(dictionary: try first.json()), "the router's body")
            #expect(answer.headers[.init("X-Cache")!] == "HIT")
            #expect(answer.headers[.contentType] == "application/json; charset=utf-8")
            #expect(answer.headers[.server] == "happening")
            #expect(answer.headers[.date]?.hasSuffix(" GMT") == true)
            #expect(answer.headers[.init("X-Request-Id")!]?.allSatisfy(\.isHexDigit) == true)
            #expect(answer.headers[.contentLength] == String(answer.body.readableBytes))
            // Not a UUID, a path under the event, an event nobody holds: the router's answers.
            let before = inlineAnswers(deps, route: route)
            #expect(try await client.send(.get, "/api/events/not-a-uuid").status.code >= 400)
            #expect(try await client.send(.get, "/api/events/\(event)/x").status == .notFound)
            #expect(try await client.send(.get, "/api/events/\(UUID())").errorCode == "event_not_found")
            #expect(inlineAnswers(deps, route: route) == before)
        }
    }

    @Test("a held list page is answered on the event loop; bad queries and unheld pages go to the router")
    func heldList() async throws {
        try await withLiveServer { client, deps, admin in
            // A page only this test's event is on: other tests book theirs meanwhile, and two answers read at different
            // moments would differ in their tickets left.
            let tag = "held\(TestEnvironment.uniqueSuffix())"
            let created = try await client.send(.post, "/api/events", json: eventJSON(title: "\(tag) night", tickets: 10), token: admin)
            #expect(created.status == .created)
            let route = "/api/events/public/search"
            let page = "/api/events/public/search?query=\(tag)"
            let first = try await client.send(.get, page)
            #expect(first.status == .ok)
            #expect((try first.json()["events"] as? [Any])?.count == 1)
            var inline: TestResponse?
            for _ in 0..<50 where inline == nil {
                let before = inlineAnswers(deps, route: route)
                let response = try await client.send(.get, page)
                if inlineAnswers(deps, route: route) == before + 1 { inline = response } else { try await Task.sleep(for: .milliseconds(20)) }
            }
            let answer = try #require(inline, "no page came from memory")
            #expect(NSDictionary(dictionary: try answer.json()) == NSDictionary(dictionary: try first.json()), "the router's body")
            #expect(answer.headers[.init("X-Cache")!] == "HIT")
            let before = inlineAnswers(deps, route: route)
            #expect(try await client.send(.get, "/api/events/public/upcoming?limit=500").errorCode == "validation_failed")
            #expect(try await client.send(.get, "/api/events/public/category/nothing").errorCode == "validation_failed")
            #expect(try await client.send(.get, "/api/events/public/upcoming?limit=6").status == .ok, "a page not held yet")
            #expect(inlineAnswers(deps, route: route) == before)
        }
    }

    @Test("a sold-out refusal is answered on the event loop; keyed, unsigned or invalid bookings go to the router")
    func soldOutRefusal() async throws {
        try await withLiveServer { client, deps, admin in
            let event = try await createEvent(client, admin: admin, tickets: 1)
            let user = try await client.register(email: uniqueEmail())
            let body = #"{"event_id":"\#(event)","ticket_count":2}"#
            _ = try await client.send(.get, "/api/events/\(event)")  // the event's body held here
            // The sold-out memory lasts 250 ms: ask the gate, then at once again, until the second answer is inline.
            var inline: TestResponse?
            for _ in 0..<50 where inline == nil {
                #expect(try await client.send(.post, "/api/bookings", json: body, token: user).errorCode == "sold_out")
                let before = inlineAnswers(deps, route: "/api/bookings")
                let response = try await client.send(.post, "/api/bookings", json: body, token: user)
                if inlineAnswers(deps, route: "/api/bookings") == before + 1 { inline = response }
            }
            let refused = try #require(inline, "no refusal came from memory")
            #expect(refused.status == .unprocessableContent)
            #expect(try refused.json()["code"] as? String == "sold_out")
            #expect(try refused.json()["error"] as? String == "Not enough tickets left (1 available)")
            let stages = (refused.headers[.init("Server-Timing")!] ?? "").split(separator: ",").map {
                $0.split(separator: ";")[0].trimmingCharacters(in: .whitespaces)
            }
            #expect(stages == ["token", "event", "admission"])
            #expect(refused.headers[.init("X-Request-Id")!] != nil)

            var keyed = HTTPFields([.init(name: .contentType, value: "application/json"), .init(name: .authorization, value: "Bearer \(user)")])
            keyed[.init("Idempotency-Key")!] = "inline-\(TestEnvironment.uniqueSuffix())"
            let withKey = try await client.execute(uri: "/api/bookings", method: .post, headers: keyed, body: ByteBuffer(string: body))
            #expect(withKey.errorCode == "sold_out", "asked the gate: a retry of an admitted booking must get its 202 back")
            #expect(withKey.headers[.init("Server-Timing")!]?.contains("admission") == true)
        }
    }

    @Test("a booking decided off the event loop gets the router's answer: accepted (the same id), refused, unauthorized, invalid")
    func deferredBookingsMatchTheRouter() async throws {
        let admin = uniqueEmail("admin").lowercased()
        let configuration = try ServerConfiguration(testSettings(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1"]))
        let logger = Logger(label: "test")
        let liveDeps = try await AppDependencies(configuration, metrics: PrometheusCollectorRegistry(), logger: logger)
        let routerDeps = try await AppDependencies(configuration, metrics: PrometheusCollectorRegistry(), logger: logger)
        try await buildApplication(configuration, deps: liveDeps, logger: logger).test(.live) { live in
            try await buildApplication(configuration, deps: routerDeps, logger: logger).test(.router) { router in
                let event = try await createEvent(live, admin: try await Fixtures.adminToken(live, email: admin), tickets: 2)
                let user = try await live.register(email: uniqueEmail())
                func booking(_ json: String, token: String?, key: String? = nil) -> (HTTPFields, ByteBuffer) {
                    var headers = HTTPFields([.init(name: .contentType, value: "application/json")])
                    if let token { headers[.authorization] = "Bearer \(token)" }
                    if let key { headers[.init("Idempotency-Key")!] = key }
                    return (headers, ByteBuffer(string: json))
                }
                let cases: [(String, (HTTPFields, ByteBuffer))] = [
                    ("admitted", booking(#"{"event_id":"\#(event)","ticket_count":1}"#, token: user, key: "k1-\(TestEnvironment.uniqueSuffix())")),
                    ("more than is left", booking(#"{"event_id":"\#(event)","ticket_count":5}"#, token: user, key: "k2-\(TestEnvironment.uniqueSuffix())")),
                    ("no token", booking(#"{"event_id":"\#(event)","ticket_count":1}"#, token: nil)),
                    ("forged token", booking(#"{"event_id":"\#(event)","ticket_count":1}"#, token: user + "x")),
                    ("no tickets", booking(#"{"event_id":"\#(event)","ticket_count":0}"#, token: user)),
                    ("not JSON", booking(#"{"event_id":"#, token: user)),
                    ("NUL", booking(#"{"event_id":"\#(event)\u0000","ticket_count":1}"#, token: user)),
                    ("no such event", booking(#"{"event_id":"\#(UUID())","ticket_count":1}"#, token: user)),
                ]
                for (name, (headers, body)) in cases {
                    let before = inlineAnswers(liveDeps, route: "/api/bookings")
                    let inline = try await live.execute(uri: "/api/bookings", method: .post, headers: headers, body: body)
                    #expect(inlineAnswers(liveDeps, route: "/api/bookings") == before + 1, "\(name): answered off the router")
                    let routed = try await router.execute(uri: "/api/bookings", method: .post, headers: headers, body: body)
                    #expect(inline.status == routed.status, "\(name)")
                    #expect(inline.errorCode == routed.errorCode, "\(name)")
                    #expect(try inline.json()["booking_id"] as? String == routed.json()["booking_id"] as? String, "\(name): the same booking")
                    // (The router's "admitted" is the retry of the same key: no publish of its own, so fewer stages.)
                    if name != "admitted" {
                        #expect(
                            inline.headers[.init("Server-Timing")!]?.split(separator: ",").count
                                == routed.headers[.init("Server-Timing")!]?.split(separator: ",").count, "\(name)")
                    }
                    #expect(NSDictionary(dictionary: try inline.json()) == NSDictionary(dictionary: try routed.json()), "\(name): the same body")
                }
            }
        }
    }

    @Test("pipelined requests are answered in the order they came, inline or not")
    func pipelinedOrder() async throws {
        try await withLiveServer { client, _, _ in
            let connection = try RawConnection(port: try #require(client.port))
            let router = "GET /api/events/public/categories HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            let inline = "GET /api/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            connection.send(router + inline + inline + router + inline)
            let bodies = await connection.responses(5, within: .seconds(30)).map(\.body)
            #expect(bodies.count == 5)
            #expect(
                bodies.map { $0.contains("categories") ? "router" : $0 == #"{"status":"ok"}"# ? "inline" : $0 } == [
                    "router", "inline", "inline", "router", "inline",
                ])
        }
    }

    @Test("a router request pipelined behind a booking decided off the event loop is answered after it")
    func routerBehindDeferredBooking() async throws {
        try await withLiveServer { client, _, admin in
            let event = try await createEvent(client, admin: admin, tickets: 10)
            let user = try await client.register(email: uniqueEmail())
            let connection = try RawConnection(port: try #require(client.port))
            let body = #"{"event_id":"\#(event)","ticket_count":1}"#
            connection.send(
                "POST /api/bookings HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(user)\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
                    + "GET /api/events/public/categories HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let answers = await connection.responses(2, within: .seconds(30))
            #expect(answers.count == 2)
            #expect(answers.first?.head.hasPrefix("HTTP/1.1 202") == true, "\(answers)")
            #expect(answers.last?.body.contains("categories") == true)
        }
    }

    @Test("a client that half-closes right after its booking still gets the answer")
    func halfCloseAfterBooking() async throws {
        try await withLiveServer { client, _, admin in
            let event = try await createEvent(client, admin: admin, tickets: 10)
            let user = try await client.register(email: uniqueEmail())
            let connection = try RawConnection(port: try #require(client.port))
            let body = #"{"event_id":"\#(event)","ticket_count":1}"#
            connection.send(
                "POST /api/bookings HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(user)\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
            shutdown(connection.descriptor, Int32(SHUT_WR))
            let answers = await connection.responses(1, within: .seconds(30))
            #expect(answers.first?.head.hasPrefix("HTTP/1.1 202") == true, "\(answers)")
            #expect(answers.first?.body.contains("booking_id") == true)
        }
    }

    @Test("a connection answered only inline (no router side) that half-closes gets every answer, then is closed")
    func halfCloseAfterInlineAnswers() async throws {
        try await withLiveServer { client, deps, _ in
            let connection = try RawConnection(port: try #require(client.port), receiveBuffer: 4_096)
            // More answers than the sockets' buffers hold while the client does not read (megabytes): the close
            // must wait for them to be written.
            let count = 20_000
            connection.send(String(repeating: "GET /api/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", count: count))
            shutdown(connection.descriptor, Int32(SHUT_WR))
            let (received, closed) = await connection.untilClosed(within: .seconds(60))
            #expect(closed, "the server closes the connection once every answer is written")
            let status = Array("HTTP/1.1 200 OK\r\n".utf8)
            var answers = 0
            var at = received.startIndex
            while let found = received[at...].firstRange(of: status) {
                answers += 1
                at = found.upperBound
            }
            #expect(answers == count)
            #expect(inlineAnswers(deps, route: InlineRoutes.liveRoute) >= count, "every answer given inline: the router never started")
        }
    }

    @Test("a request the decoder cannot read, on a connection answered inline so far, gets the router's 400 and a close")
    func parseErrorAfterInlineAnswers() async throws {
        try await withLiveServer { client, _, _ in
            let connection = try RawConnection(port: try #require(client.port))
            connection.send("GET /api/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(await connection.responses(1, within: .seconds(30)).first?.head.hasPrefix("HTTP/1.1 200") == true)
            connection.send("NOT HTTP AT ALL \u{01}\r\n\r\n")
            let answer = try #require(await connection.responses(1, within: .seconds(30)).first)
            #expect(answer.head.hasPrefix("HTTP/1.1 400"), "\(answer.head)")
            try await eventually("the server to close the connection") {
                connection.isClosedByPeer
            } until: {
                $0
            }
        }
    }

    @Test("connections answered inline that their clients reset are closed without a router side; the server keeps serving")
    func resetAfterInlineAnswers() async throws {
        try await withLiveServer { client, _, _ in
            for _ in 0..<20 {
                let connection = try RawConnection(port: try #require(client.port))
                connection.send("GET /api/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                #expect(await connection.responses(1, within: .seconds(30)).count == 1)
                // A reset, not a close: unread data and SO_LINGER 0 make the kernel send RST.
                connection.send("GET /api/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                var linger = linger(l_onoff: 1, l_linger: 0)
                setsockopt(connection.descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
                shutdown(connection.descriptor, Int32(SHUT_RDWR))
            }
            #expect(try await client.send(.get, "/api/health/live").status == .ok)
        }
    }

    @Test("a burst at a sold-out event: one turn with the intake per loop, the rest refused from memory on the loop; every booking answered once")
    func burstTakesTurns() async throws {
        try await withLiveServer(["INTAKE_DECISIONS_PER_LOOP": "1", "BOOKING_RATE_LIMIT_PER_MINUTE": "0"]) { client, deps, admin in
            let event = try await createEvent(client, admin: admin, tickets: 1)
            _ = try await client.send(.get, "/api/events/\(event)")  // the event's body held here
            let buyers = 200
            let body = #"{"event_id":"\#(event)","ticket_count":1}"#
            let connections = try (0..<buyers).map { _ in try RawConnection(port: try #require(client.port)) }
            let requests = try connections.map { _ in
                let token = try deps.tokens.issue(userId: UUID(), email: uniqueEmail(), role: "user")
                return "POST /api/bookings HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
            }
            // The sockets are blocking: read on a thread of their own, not on the pool the server's tasks need.
            let answers = await onDedicatedThread(named: "test-buyers") {
                for (connection, request) in zip(connections, requests) { connection.send(request) }
                return connections.map { $0.blockingResponses(1, within: .seconds(60)) }
            }
            #expect(answers.allSatisfy { $0.count == 1 }, "every booking answered")
            let heads = answers.compactMap(\.first?.head)
            #expect(heads.filter { $0.hasPrefix("HTTP/1.1 202") }.count == 1)
            #expect(heads.filter { $0.hasPrefix("HTTP/1.1 422") }.count == buyers - 1)
            #expect(answers.compactMap(\.first).filter { $0.head.hasPrefix("HTTP/1.1 422") }.allSatisfy { $0.body.contains("sold_out") })
            // The intake decided some (the first, and any that came while the memory did not know); the loop refused the rest.
            let decided = metric(deps, "happening_inline_bookings_decided_total")
            #expect(decided >= 1 && decided < buyers, "\(decided) of \(buyers) decided by the intake")
        }
    }

    @Test("Connection: close is answered, then the connection is closed")
    func connectionClose() async throws {
        try await withLiveServer { client, _, _ in
            let connection = try RawConnection(port: try #require(client.port))
            connection.send("GET /api/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            let answer = try #require(await connection.responses(1, within: .seconds(30)).first)
            #expect(answer.head.lowercased().contains("connection: close"))
            try await eventually("the server to close the connection") {
                connection.isClosedByPeer
            } until: {
                $0
            }
        }
    }

    @Test("a body over the inline limit goes to the router, which refuses it")
    func largeBody() async throws {
        try await withLiveServer { client, _, _ in
            let user = try await client.register(email: uniqueEmail())
            let padding = String(repeating: " ", count: 70 * 1024)
            let response = try await client.send(.post, "/api/bookings", json: #"{"event_id":"\#(UUID())","ticket_count":1\#(padding)}"#, token: user)
            #expect(response.errorCode == "body_too_large")
        }
    }
}

extension RawConnection {
    /// A response read off the socket: its head (status line and headers) and its body (Content-Length framed).
    struct RawResponse {
        let head: String
        let body: String
    }

    /// Reads `count` Content-Length framed responses, waiting at most `within` for all of them, on a thread of its own:
    /// the socket blocks, and the shared pool's few threads are the server's (two tests blocking them at once would
    /// stall every server in the run).
    func responses(_ count: Int, within: Duration) async -> [RawResponse] {
        await onDedicatedThread(named: "test-socket") { self.blockingResponses(count, within: within) }
    }

    /// ``responses(_:within:)`` on the calling thread.
    func blockingResponses(_ count: Int, within: Duration) -> [RawResponse] {
        let deadline = ContinuousClock.now + within
        var received = [UInt8]()
        var responses: [RawResponse] = []
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while responses.count < count, ContinuousClock.now < deadline {
            let read = recv(descriptor, &chunk, chunk.count, 0)
            if read == 0 { break }
            if read > 0 { received += chunk[0..<read] }
            while let response = Self.take(&received) { responses.append(response) }
        }
        return responses
    }

    /// Everything the peer sends until it closes the connection, waiting at most `within` (on a thread of its own);
    /// `closed` is false when it was still open at the end.
    func untilClosed(within: Duration) async -> (bytes: [UInt8], closed: Bool) {
        await onDedicatedThread(named: "test-socket") { self.blockingUntilClosed(within: within) }
    }

    private func blockingUntilClosed(within: Duration) -> (bytes: [UInt8], closed: Bool) {
        let deadline = ContinuousClock.now + within
        var received = [UInt8]()
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while ContinuousClock.now < deadline {
            let read = recv(descriptor, &chunk, chunk.count, 0)
            if read == 0 { return (received, true) }
            if read > 0 { received += chunk[0..<read] }
            if read < 0, errno != EAGAIN, errno != EWOULDBLOCK { return (received, true) }
        }
        return (received, false)
    }

    private static func take(_ bytes: inout [UInt8]) -> RawResponse? {
        let separator = Array("\r\n\r\n".utf8)
        guard let end = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }) else { return nil }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        let length =
            head.split(separator: "\r\n").compactMap { line -> Int? in
                let parts = line.split(separator: ":", maxSplits: 1)
                return parts.count == 2 && parts[0].lowercased() == "content-length" ? Int(parts[1].trimmingCharacters(in: .whitespaces)) : nil
            }.first ?? 0
        let bodyStart = end + separator.count
        guard bytes.count >= bodyStart + length else { return nil }
        let body = String(decoding: bytes[bodyStart..<(bodyStart + length)], as: UTF8.self)
        bytes.removeFirst(bodyStart + length)
        return RawResponse(head: head, body: body)
    }
}
