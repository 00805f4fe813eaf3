import Foundation
import HappeningHTTP
import HappeningPostgres
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import Server

#if canImport(Glibc)
    import Glibc
#endif

/// What the server shows of itself over HTTP, and how it treats connections, from the security review of 2026-12-06
/// (`shared/reference/security-audit-2026-12-06.md`). Every test fails on the code before its fix.
@Suite("HTTP surface under attack", .timeLimit(.minutes(10)))
struct HTTPSurfaceTests {
    @Test("a known path asked with a wrong method is 405 with Allow, not 404")
    func methodNotAllowed() async throws {
        try await withServer { client in
            let login = try await client.send(.delete, "/api/auth/login")
            #expect(login.status == .methodNotAllowed && login.headers[.allow] == "POST" && login.errorCode == "method_not_allowed")
            let health = try await client.execute(uri: "/api/health", method: .init("TRACE")!)
            #expect(health.status == .methodNotAllowed && health.headers[.allow] == "GET")
            let event = try await client.send(.delete, "/api/events/\(UUID().uuidString)")
            #expect(event.headers[.allow] == "GET, PUT")
            #expect(try await client.send(.get, "/api/nothing-here").status == .notFound)
        }
    }

    @Test("public event JSON carries neither the reviewer's notes nor who approved it")
    func publicEventHidesStaff() async throws {
        let admin = uniqueEmail("admin").lowercased()
        try await withServer(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1"]) { client in
            let token = try await Fixtures.adminToken(client, email: admin)
            let created = try await client.send(.post, "/api/events", json: eventJSON(), token: token).json()
            let id = try #require((created["event"] as? [String: Any])?["id"] as? String)
            #expect((created["event"] as? [String: Any])?["approved_by"] != nil, "staff see it")
            let event = try #require(try await client.send(.get, "/api/events/\(id)").json()["event"] as? [String: Any])
            #expect(event["approved_by"] == nil && event["admin_notes"] == nil)
            let listed = try await client.send(.get, "/api/events/public/upcoming?limit=100").json()["events"] as? [[String: Any]] ?? []
            #expect(listed.allSatisfy { $0["approved_by"] == nil && $0["admin_notes"] == nil })
        }
    }

    @Test("the server's database connections carry statement_timeout (DB_STATEMENT_TIMEOUT_MS), so expensive reads cannot hold the pool")
    func statementTimeout() async throws {
        try await withServerAndDependencies(["DB_STATEMENT_TIMEOUT_MS": "1500"]) { _, deps in
            let timeout: String = try await deps.postgres.query("SHOW statement_timeout")[0].decode(0)
            #expect(timeout == "1500ms")
        }
    }

    @Test("attack: a flood of /api/health calls shares one probe of the dependencies while its answer is fresh")
    func healthProbesAreShared() async throws {
        let probes = LockedValue(0)
        let recent = HealthController.RecentProbes(maxAge: .seconds(3_600))
        let results = await withTaskGroup(of: HealthController.Probed.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    await recent.result {
                        probes.withLock { $0 += 1 }
                        return HealthController.Probed(database: true, redis: true, queue: true)
                    }
                }
            }
            return await group.reduce(into: [HealthController.Probed]()) { $0.append($1) }
        }
        #expect(results.count == 50 && results.allSatisfy(\.database) && probes.value == 1, "\(probes.value) probes for 50 calls")
        let always = HealthController.RecentProbes(maxAge: .zero)
        for _ in 0..<3 {
            _ = await always.result {
                probes.withLock { $0 += 1 }
                return HealthController.Probed(database: true, redis: true, queue: true)
            }
        }
        #expect(probes.value == 4, "a stale answer is probed again")
    }

    @Test("METRICS_PORT moves /metrics off the API's port")
    func metricsOffThePublicPort() async throws {
        let port = TestPorts.next()
        try await withServer(["METRICS_PORT": String(port)]) { client in
            #expect(try await client.send(.get, "/metrics").status == .notFound)
            let scraped = try await eventually("the metrics listener to answer") {
                try? await TestHTTP.send(HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"))
            } until: {
                $0?.status == 200
            }
            let text = scraped.map { String(decoding: $0.body, as: UTF8.self) } ?? ""
            #expect(text.contains("happening_pool_open_connections"))
        }
    }

    @Test("attack: idle and half-sent connections are closed after IDLE_TIMEOUT_SECONDS; normal requests still answer")
    func slowClientsAreClosed() async throws {
        let (server, port) = try await ChildProcess.startServing("happening-server", path: "/api/health/live") { port in
            ["PORT": String(port), "IDLE_TIMEOUT_SECONDS": "2", "LOG_LEVEL": "error", "CACHE_PREFIX": "idle-\(TestEnvironment.uniqueSuffix()):"]
        }
        try await server.whileRunning {
            let idle = try RawConnection(port: port)
            let halfSent = try RawConnection(port: port)
            halfSent.send("GET /api/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            try await eventually("the idle connection to be closed by the server") {
                idle.isClosedByPeer
            } until: {
                $0
            }
            try await eventually("the half-sent request's connection to be closed by the server") {
                halfSent.isClosedByPeer
            } until: {
                $0
            }
            let live = try await TestHTTP.send(HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/health/live"))
            #expect(live.status == 200)
        }
    }
}

/// A plain TCP connection to the loopback, for clients that send nothing or half a request.
final class RawConnection: Sendable {
    let descriptor: Int32

    /// - Parameter receiveBuffer: `SO_RCVBUF` set before connecting (a small one keeps the server's answers waiting in
    ///   its own buffers while this side does not read).
    init(port: Int, receiveBuffer: Int32? = nil) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer { setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(descriptor) }

    func send(_ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.send(descriptor, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
    }

    /// True once the peer closed (a read returns end of file or a reset); false while it stays open with nothing to read.
    var isClosedByPeer: Bool {
        var byte: UInt8 = 0
        let read = recv(descriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return read == 0 || (read < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }
}
