import Foundation
import HappeningLoad
import HappeningSystem

#if canImport(Glibc)
    import Glibc
#endif

/// A slow phase: `connections` clients connect, then send nothing (`send: nothing`) or the first part of their
/// request's head (`send: partial`: the request line and headers, never the blank line that ends them), and hold on
/// for the phase's `duration`. What it measures is the target's side: how many connections it closed, and how long
/// after the client's last byte (the idle timeout a slowloris meets). Nothing else is sent, so a target that never
/// closes them leaves them all open at the end (``SlowClientReport/still_open``).
///
/// One thread of its own polls every socket (no load loop is involved); the connections are closed by the phase at its
/// end, whatever happened.
struct SlowClients: Sendable {
    /// `http://host[:port]`: plain HTTP only (a TLS handshake is not what a slow client stalls).
    let origin: String
    /// What a partial client sends, one per connection (connection i uses `heads[i % count]`).
    let heads: [[UInt8]]
    let send: SlowSend

    /// The first part of `request`'s head: its request line and headers, never the blank line that ends them.
    static func partialHead(_ request: PreparedRequest) -> [UInt8] { request.unfinishedHead + Array("X-Slow-Client: ".utf8) }

    /// Runs the phase from `start` (monotonic ns) for `duration`; blocking, on the caller's thread.
    func run(connections: Int, start: UInt64, duration: Duration) -> SlowClientReport {
        var report = SlowClientReport(send: send.rawValue)
        while monotonicNanoseconds() < start { usleep(1_000) }
        guard let connector = TCPConnector(origin: origin, connectTimeout: .seconds(5)) else { return report }
        var open: [(socket: Int32, since: UInt64)] = []
        open.reserveCapacity(connections)
        for index in 0..<connections {
            switch connector.connect() {
            case .success(let socket):
                if send == .partial, !heads.isEmpty {
                    let head = heads[index % heads.count]
                    _ = head.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
                open.append((socket, monotonicNanoseconds()))
            case .failure: report.connect_failures += 1
            }
        }
        report.opened = open.count
        var closeAfter = LatencyHistogram()
        let deadline = start &+ UInt64(duration.nanoseconds)
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while !open.isEmpty, monotonicNanoseconds() < deadline {
            var polled = open.map { pollfd(fd: $0.socket, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&polled, nfds_t(polled.count), 100)
            guard ready > 0 else { continue }
            var still: [(socket: Int32, since: UInt64)] = []
            for (index, entry) in open.enumerated() {
                guard polled[index].revents != 0 else {
                    still.append(entry)
                    continue
                }
                // Read what the target sent (a 408, say); end of file or an error means it closed the connection.
                let read = recv(entry.socket, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if read > 0 || (read < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                    if read > 0 { report.answered += 1 }
                    still.append(entry)
                } else {
                    closeAfter.record(microseconds: max(1, (monotonicNanoseconds() &- entry.since) / 1_000))
                    close(entry.socket)
                }
            }
            open = still
        }
        for entry in open { close(entry.socket) }
        report.still_open = open.count
        report.closed_by_server = report.opened - open.count
        if closeAfter.count > 0 { report.close_after = closeAfter.summary }
        return report
    }
}

/// What a slow phase saw: connections opened, how many the target closed and when, how many it left open.
struct SlowClientReport: Codable, Sendable {
    /// What each client sent: `nothing` or `partial`.
    var send = SlowSend.partial.rawValue
    var opened = 0
    var connect_failures = 0
    /// Connections the target closed before the phase ended.
    var closed_by_server = 0
    /// Connections still open when the phase ended (the Bench closed them).
    var still_open = 0
    /// Connections on which the target sent bytes (an error answer) before or instead of closing.
    var answered = 0
    /// From the client's last byte (its connect, or its partial head) to the target's close.
    var close_after: LatencySummary?
}

extension PhaseRunner {
    /// Runs a slow phase (``SlowClients``) of `lane` from `start` on a thread of its own; its result has no requests,
    /// only the slow clients' report.
    func runSlow(_ phase: Scenario.Phase, lane: String, start: UInt64, users: Range<Int>?) async -> LanePhaseRun {
        let clock = PhaseClock(monotonicStart: start)
        let chosen = templates(of: phase)
        var random = FastRandom(seed: 11)
        let first = users?.lowerBound ?? 0
        let heads = (0..<min(phase.connections, 64)).map { index in
            SlowClients.partialHead(renderer.render(chosen[index % max(1, chosen.count)], user: first + index, random: &random))
        }
        let clients = SlowClients(origin: renderer.target, heads: chosen.isEmpty ? [] : heads, send: phase.send ?? .partial)
        let duration = phase.duration.flatMap(DurationText.parse) ?? .seconds(10)
        loadStart?.set(monotonic: start)
        let report = await onDedicatedThread(named: "happening-bench-slow") {
            clients.run(connections: phase.connections, start: start, duration: duration)
        }
        var result = PhaseResult(phase: phase, recorders: [], feed: LiveFeed(), clock: clock, abandoned: 0)
        let end = monotonicNanoseconds()
        result.elapsed_seconds = (Double(end &- start) / 1e6).rounded() / 1e3
        result.slow_clients = report
        if !lane.isEmpty { result.lane = lane }
        return LanePhaseRun(lane: lane, result: result, clock: clock, samples: [], end: end)
    }
}
