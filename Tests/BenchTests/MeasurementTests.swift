import Foundation
import HappeningLoad
import HappeningSystem
import Hummingbird
import Synchronization
import TestSupport
import Testing

@testable import HappeningBench

/// A server whose every request waits until a shared stall window (if any) is over, then `delay`.
private actor StallGate {
    private var until: ContinuousClock.Instant?

    func stall(for duration: Duration) { until = .now + duration }

    func pass() async throws {
        if let until, until > .now { try await Task.sleep(until: until, clock: .continuous) }
    }
}

private func delayRouter(delay: Duration, gate: StallGate = StallGate()) -> Router<BasicRequestContext> {
    let router = Router()
    router.get("delay") { _, _ -> String in
        try await gate.pass()
        try await Task.sleep(for: delay)
        return "ok"
    }
    router.get("api/health") { _, _ in "ok" }
    return router
}

private func renderer(_ base: String, path: String = "/delay") -> RequestRenderer {
    RequestRenderer(
        target: base, templates: [Scenario.RequestTemplate(name: "delay", path: path, expect: [200])],
        variables: [:], pools: [:], users: .none)
}

private func phase(_ model: LoadModel, connections: Int, rate: String? = nil, duration: String? = nil, maxRequests: Int? = nil) -> Scenario.Phase {
    Scenario.Phase(name: model.rawValue, model: model, connections: connections, rate: rate, duration: duration, max_requests: maxRequests)
}

/// The run settings of these tests: `threads` loops of `engine`.
private func settings(threads: Int, engine: LoadEngine) -> RunSettings {
    var settings = RunSettings()
    (settings.threads, settings.engine) = (threads, engine)
    return settings
}

@Suite("Bench: the numbers are right", .serialized, .timeLimit(.minutes(10)))
struct MeasurementTests {
    @Test("a server with a fixed 20 ms delay: the percentiles report 20 ms (closed model, 8 connections)", arguments: LoadEngine.allCases)
    func fixedDelay(engine: LoadEngine) async throws {
        try await withHTTPTestServer(delayRouter(delay: .milliseconds(20))) { base in
            let runner = PhaseRunner(renderer: renderer(base), settings: settings(threads: 2, engine: engine), stop: StopFlag())
            _ = try await runner.run(phase(.warmup, connections: 8))  // open the connections first
            let (result, _) = try await runner.run(phase(.closed, connections: 8, maxRequests: 800))
            #expect(result.requests == 800)
            #expect(result.errors == 0)
            #expect(result.latency.min >= 20_000, "nothing can be faster than the delay: min \(result.latency.min) µs")
            #expect(result.latency.p50 >= 20_000 && result.latency.p50 < 30_000, "p50 \(result.latency.p50) µs")
            #expect(result.latency.p90 >= 20_000 && result.latency.p90 < 40_000, "p90 \(result.latency.p90) µs")
            // The tail depends on what else this 2-core machine runs (tests run in parallel): bounded loosely.
            #expect(result.latency.p99 >= 20_000 && result.latency.p99 < 500_000, "p99 \(result.latency.p99) µs")
            // 8 connections × 1 request per ~20 ms ≈ 400 req/s at most.
            #expect(result.requests_per_second > 100 && result.requests_per_second < 420, "\(result.requests_per_second) req/s")
        }
    }

    @Test("open model: a 1 s stall shows in the corrected p99 and in the late count, not only in a few requests", arguments: LoadEngine.allCases)
    func stallIsVisible(engine: LoadEngine) async throws {
        let gate = StallGate()
        try await withHTTPTestServer(delayRouter(delay: .milliseconds(2), gate: gate)) { base in
            let runner = PhaseRunner(renderer: renderer(base), settings: settings(threads: 1, engine: engine), stop: StopFlag())
            async let outcome = runner.run(phase(.open, connections: 16, rate: "200", duration: "3s"))
            try await Task.sleep(for: .milliseconds(1_000))
            await gate.stall(for: .seconds(1))
            let (result, _) = try await outcome
            #expect(result.errors == 0)
            #expect(result.requests >= 550, "\(result.requests) requests")
            // ~200 of ~600 requests were due during the stall: a third of the distribution waits, up to 1 s.
            #expect(result.latency.p99 >= 800_000, "corrected p99 only \(result.latency.p99) µs")
            #expect(result.latency.p50 < 100_000, "p50 \(result.latency.p50) µs")
            #expect(result.late >= 100, "late \(result.late)")
        }
    }

    @Test("open model without a stall: the arrival rate is held and starts are on schedule", arguments: LoadEngine.allCases)
    func openRate(engine: LoadEngine) async throws {
        try await withHTTPTestServer(delayRouter(delay: .milliseconds(1))) { base in
            var runner = PhaseRunner(renderer: renderer(base), settings: settings(threads: 1, engine: engine), stop: StopFlag())
            let monitor = GeneratorMonitor()
            runner.monitor = monitor
            monitor.start()
            defer { monitor.stop() }
            let (result, _) = try await runner.run(phase(.open, connections: 32, rate: "300", duration: "2s"))
            #expect(result.requests >= 590 && result.requests <= 601, "\(result.requests) requests in 2 s at 300/s")
            // Starts within 1 ms of schedule, bar the scheduling noise of a busy 2-core machine. When the machine is
            // so busy that the generator itself waited for a CPU, its lateness is explained, and what must hold
            // then is that the run says so (the generator's check on itself), not that it kept time.
            let check = try #require(
                monitor.check(fromMicros: result.started_at_micros, toMicros: result.started_at_micros + Int64(result.elapsed_seconds * 1e6)),
                "the generator's loops report their seconds")
            // 2 % of the time waiting for a CPU, in bursts of a few ms, already makes many starts miss by 1 ms.
            if !check.saturated && check.runqueue_wait < 0.02 {
                #expect(Double(result.late) < Double(result.requests) * 0.2, "late \(result.late), the generator not starved: \(check)")
            } else if Double(result.late) >= Double(result.requests) * 0.2 {
                print("open-rate test: \(result.late) late starts, explained by the generator's own check: \(check.reasons)")
            }
        }
    }

    @Test("barrier: every connection sends once at the same instant, and the body capture works", arguments: LoadEngine.allCases)
    func barrier(engine: LoadEngine) async throws {
        let router = Router()
        router.post("book") { _, _ -> Response in
            Response(
                status: .accepted, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"message":"queued","booking_id": "b-\#(UUID().uuidString)","status":"queued"}"#)))
        }
        router.get("api/health") { _, _ in "ok" }
        try await withHTTPTestServer(router) { base in
            let templates = [Scenario.RequestTemplate(name: "book", method: "POST", path: "/book", body: "{}", expect: [202], capture: "booking_id")]
            let renderer = RequestRenderer(target: base, templates: templates, variables: [:], pools: [:], users: .none)
            let runner = PhaseRunner(renderer: renderer, settings: settings(threads: 2, engine: engine), stop: StopFlag())
            let (result, captures) = try await runner.run(phase(.barrier, connections: 300))
            #expect(result.requests == 300)
            #expect(result.statuses["202"] == 300)
            #expect(captures.count == 300)
            #expect(Set(captures.map(\.value)).count == 300)
            #expect(captures.allSatisfy { $0.value.hasPrefix("b-") })
            #expect(Set(captures.map(\.tag)) == Set(0..<300))
        }
    }
}

@Suite("Bench: the raw engine's HTTP/1.1 framing against a real server", .timeLimit(.minutes(10)))
struct RawEngineTests {
    @Test("chunked bodies, empty bodies, errors and a server that closes the connection are all framed right")
    func framing() async throws {
        let router = Router()
        router.get("api/health") { _, _ in "ok" }
        router.get("chunked") { _, _ -> Response in
            let parts = ["{\"booking_id\":", "\"chunk-", "ed-1\"}"].map { ByteBuffer(string: $0) }
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(
                    asyncSequence: AsyncStream { continuation in
                        parts.forEach { continuation.yield($0) }
                        continuation.finish()
                    }))
        }
        router.get("empty") { _, _ in Response(status: .noContent) }
        router.get("missing") { _, _ in Response(status: .notFound) }
        router.get("close") { _, _ in Response(status: .ok, headers: [.connection: "close"], body: .init(byteBuffer: ByteBuffer(string: "bye"))) }
        try await withHTTPTestServer(router) { base in
            let templates = [
                Scenario.RequestTemplate(name: "chunked", path: "/chunked", weight: 1, expect: [200], capture: "booking_id"),
                Scenario.RequestTemplate(name: "empty", path: "/empty", weight: 1, expect: [204]),
                Scenario.RequestTemplate(name: "missing", path: "/missing", weight: 1, expect: [404]),
                Scenario.RequestTemplate(name: "close", path: "/close", weight: 1, expect: [200]),
            ]
            let renderer = RequestRenderer(target: base, templates: templates, variables: [:], pools: [:], users: .none)
            let runner = PhaseRunner(renderer: renderer, settings: settings(threads: 1, engine: .raw), stop: StopFlag())
            let (result, captures) = try await runner.run(phase(.closed, connections: 4, maxRequests: 800))
            #expect(result.requests == 800)
            #expect(result.errors == 0, "statuses \(result.statuses), transport \(result.transport_errors)")
            #expect(Set(result.templates.map(\.name)) == ["chunked", "empty", "missing", "close"])
            #expect(!captures.isEmpty && captures.allSatisfy { $0.value == "chunk-ed-1" })
        }
    }
}

@Suite("Bench: answers timed when they arrived, not when the loop read them", .timeLimit(.minutes(10)))
struct ArrivalTimingTests {
    /// A plain TCP server on 127.0.0.1 that accepts two connections, answers the first request either sends, then
    /// says so (``answered``); it keeps both open until ``stop()``.
    private final class OneAnswerServer: @unchecked Sendable {
        let port: Int
        let answered = Atomic<Bool>(false)
        private let listener: Int32
        private let stopped = Atomic<Bool>(false)

        init() throws {
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            self.listener = listener
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
            }
            guard bound, listen(listener, 8) == 0 else { throw POSIXError(.EADDRNOTAVAIL) }
            port = Int(UInt16(bigEndian: address.sin_port))
        }

        /// Serves on the calling thread until ``stop()``.
        func serve() {
            let clients = [accept(listener, nil, nil), accept(listener, nil, nil)]
            var polled = clients.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            var request = [UInt8](repeating: 0, count: 4_096)
            while !answered.load(ordering: .acquiring), !stopped.load(ordering: .acquiring) {
                guard poll(&polled, nfds_t(polled.count), 100) > 0, let ready = polled.first(where: { $0.revents & Int16(POLLIN) != 0 }) else { continue }
                guard recv(ready.fd, &request, request.count, 0) > 0 else { break }
                let answer = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nnow"
                // On loopback the bytes are in the client's receive queue, stamped, once send returns.
                _ = answer.utf8CString.withUnsafeBufferPointer { Glibc.send(ready.fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
                answered.store(true, ordering: .releasing)
            }
            while !stopped.load(ordering: .acquiring) { usleep(10_000) }
            clients.forEach { _ = close($0) }
            close(listener)
        }

        func stop() { stopped.store(true, ordering: .releasing) }
    }

    /// Connection 0 sends one request; asked about connection 1 right after, the schedule holds the loop's thread until
    /// the answer is in the socket and a further `hold` has passed (as a generator short of CPU, or a barrier loop still
    /// sending, would), so the answer waits to be read.
    private final class HoldAfterSending: LoadSchedule, @unchecked Sendable {
        let request: PreparedRequest
        let server: OneAnswerServer
        var sent = false
        var completions: [LoadCompletion] = []
        var readAfter: UInt64 = 0

        init(url: String, server: OneAnswerServer) {
            request = PreparedRequest(url: url)
            self.server = server
        }

        func next(connection: Int, now: UInt64) -> LoadDecision {
            if connection == 0, !sent {
                sent = true
                return .send(request, intendedStart: now)
            }
            if connection == 1, sent, readAfter == 0 {
                let patience = monotonicNanoseconds() + 60_000_000_000
                while !server.answered.load(ordering: .acquiring), monotonicNanoseconds() < patience { usleep(1_000) }
                usleep(300_000)
                readAfter = monotonicNanoseconds()
            }
            return .done
        }

        func completed(_ completion: LoadCompletion) {
            var kept = completion
            kept.body = nil
            completions.append(kept)
        }

        func tick(now: UInt64) {}
    }

    @Test("an answer the loop reads 300 ms after it arrived is timed at its arrival (the kernel's stamp), not at the read")
    func lateRead() async throws {
        let server = try OneAnswerServer()
        let serving = Task.detached { await onDedicatedThread(named: "test-server") { server.serve() } }
        let base = "http://127.0.0.1:\(server.port)"
        let schedule = HoldAfterSending(url: "\(base)/now", server: server)
        let ran = await onDedicatedThread(named: "test-loop") {
            Result { try RawLoop.run(options: LoopOptions(connections: 2), origin: base, schedule: schedule, stop: StopFlag()) }
        }
        server.stop()
        await serving.value
        _ = try ran.get()
        let completion = try #require(schedule.completions.first)
        #expect(completion.status == 200)
        #expect(completion.end < schedule.readAfter, "timed when it arrived, before the loop could read it")
        #expect(completion.end >= completion.actualStart)
    }
}
