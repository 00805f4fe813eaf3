import Foundation
import HappeningLoad
import HappeningSystem
import TestSupport
import Testing

@testable import HappeningBench

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback listener that never accepts: the kernel completes every handshake and nobody ever closes them.
private final class DeafListener: Sendable {
    let descriptor: Int32
    let port: Int

    init() throws {
        let listening = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listening, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listening, 512) == 0 else {
            close(listening)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) { _ = $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listening, $0, &length) } }
        descriptor = listening
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}

@Suite("Bench: slow clients", .serialized, .timeLimit(.minutes(10)))
struct SlowClientTests {
    @Test("against the server with a 1 s idle timeout: every idle and half-sent connection is closed, about a second after its last byte")
    func serverClosesThem() async throws {
        let (server, port) = try await ChildProcess.startServing("happening-server", path: "/api/health/live") { port in
            ["PORT": String(port), "IDLE_TIMEOUT_SECONDS": "1", "LOG_LEVEL": "error", "CACHE_PREFIX": "slow-\(TestEnvironment.uniqueSuffix()):"]
        }
        try await server.whileRunning {
            let head = Array("GET /api/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8)
            for send in [SlowSend.nothing, .partial] {
                let clients = SlowClients(origin: "http://127.0.0.1:\(port)", heads: [head], send: send)
                let start = monotonicNanoseconds() &+ 10_000_000
                let report = await onDedicatedThread(named: "slow-test") { clients.run(connections: 50, start: start, duration: .seconds(30)) }
                #expect(report.opened == 50 && report.connect_failures == 0, "\(send): \(report)")
                #expect(report.closed_by_server == 50 && report.still_open == 0, "\(send): \(report)")
                // Closed by the timeout, not at once: at least most of a second after the last byte.
                #expect((report.close_after?.min ?? 0) >= 500_000, "\(send): \(report)")
            }
        }
    }

    @Test("against a listener that never closes: every connection is still open when the phase ends")
    func deafTargetLeavesThemOpen() async throws {
        let listener = try DeafListener()
        let clients = SlowClients(origin: "http://127.0.0.1:\(listener.port)", heads: [], send: .nothing)
        let start = monotonicNanoseconds()
        let report = await onDedicatedThread(named: "slow-test") { clients.run(connections: 20, start: start, duration: .milliseconds(500)) }
        #expect(report.opened == 20 && report.still_open == 20 && report.closed_by_server == 0 && report.close_after == nil)
    }
}
