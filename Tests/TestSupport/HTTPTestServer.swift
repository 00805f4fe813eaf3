import Hummingbird
import Logging
import ServiceLifecycle

/// Runs `router` as a real HTTP server on 127.0.0.1 (a free port) for the duration of `body`, which gets
/// the server's base URL (`http://127.0.0.1:<port>`).
///
/// The server ends with a graceful shutdown, never by cancelling its task: connections accepted but not yet taken
/// by Hummingbird's accept loop are dropped by a cancellation, and NIO traps on such a connection ("Deinited
/// NIOAsyncWriter without calling finish()", apple/swift-nio#2637). A graceful shutdown closes the listener, serves
/// or closes every accepted connection, then ends; a request still running after 5 s is cancelled.
public func withHTTPTestServer<T: Sendable>(
    _ router: Router<BasicRequestContext>,
    _ body: @Sendable (String) async throws -> T
) async throws -> T {
    let port = LockedValue<Int?>(nil)
    var logger = Logger(label: "test-server")
    logger.logLevel = .critical
    let app = Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.1", port: 0), backlog: 4096),
        onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } },
        logger: logger
    )
    var configuration = ServiceGroupConfiguration(services: [.init(service: app)], gracefulShutdownSignals: [], logger: logger)
    configuration.maximumGracefulShutdownDuration = .seconds(5)
    let services = ServiceGroup(configuration: configuration)
    return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
        group.addTask { try await services.run() }
        let outcome: Result<T, any Error>
        do {
            let bound = try await eventually("the test HTTP server to bind a port", within: Patience.startup, { port.value }, until: { $0 != nil })
            outcome = .success(try await body("http://127.0.0.1:\(bound!)"))
        } catch {
            outcome = .failure(error)
        }
        // Also when the body failed: leaving the group with the server running would cancel it.
        await services.triggerGracefulShutdown()
        var stopped: (any Error)?
        do { try await group.waitForAll() } catch { stopped = error }
        let result = try outcome.get()
        if let stopped { throw stopped }
        return result
    }
}
