import Hummingbird
import Logging

/// Runs `router` as a real HTTP server on 127.0.0.1 (a free port) for the duration of `body`, which gets
/// the server's base URL (`http://127.0.0.1:<port>`).
public func withHTTPTestServer<T: Sendable>(
    _ router: Router<BasicRequestContext>,
    _ body: @Sendable (String) async throws -> T
) async throws -> T {
    let port = LockedValue<Int?>(nil)
    let app = Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.1", port: 0), backlog: 4096),
        onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } },
        logger: {
            var logger = Logger(label: "test-server")
            logger.logLevel = .critical
            return logger
        }()
    )
    return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
        group.addTask { try await app.run() }
        do {
            let bound = try await eventually("the test HTTP server to bind a port", within: Patience.startup, { port.value }, until: { $0 != nil })
            let result = try await body("http://127.0.0.1:\(bound!)")
            group.cancelAll()
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}
