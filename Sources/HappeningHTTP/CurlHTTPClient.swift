import CCurl
import HappeningPool
import ServiceLifecycle

/// A small HTTP/1.1 client on libcurl's easy interface, for outbound calls such as the payment gateway.
///
/// ```swift
/// // a long-lived client is a lifecycle service: the service group that runs it shuts it down
/// let http = CurlHTTPClient()
/// app.addServices(http)
/// let response = try await http.send(HTTPClientRequest(method: "POST", url: "\(base)/v1/orders",
///                                                headers: [("Content-Type", "application/json")], body: json,
///                                                basicAuth: (keyID, keySecret)))
///
/// // a short-lived one is scoped
/// let health = try await CurlHTTPClient.withClient { try await $0.send(HTTPClientRequest(url: url)) }
/// ```
///
/// Transfers run on the client's own threads (one per concurrent request, up to `maxConcurrentRequests`, default 4;
/// more wait up to `queueTimeout`, default 30 s); easy handles are reused, so keep-alive connections are too.
/// Redirects are not followed. After shutdown every `send` throws ``CurlError`` ("client shut down").
public final class CurlHTTPClient: Sendable {
    private let pool: ConnectionPool<CurlEasyHandle>

    /// Creates a client allowing `maxConcurrentRequests` transfers at once; more wait up to `queueTimeout`.
    public init(maxConcurrentRequests: Int = 4, queueTimeout: Duration = .seconds(30)) {
        self.pool = ConnectionPool(
            maxConnections: maxConcurrentRequests,
            checkoutTimeout: queueTimeout,
            open: { try CurlEasyHandle() },
            failure: { reason in
                switch reason {
                case .checkoutTimeout: CurlError(CURLE_OPERATION_TIMEDOUT, message: "no transfer slot became free in time")
                case .closed: CurlError(CURLE_BAD_FUNCTION_ARGUMENT, message: "client shut down")
                case .cancelled: CurlError(CURLE_ABORTED_BY_CALLBACK, message: "cancelled")
                }
            }
        )
    }

    /// Sends a request and returns the response, whatever its status. Throws ``CurlError`` when no
    /// response arrived (refused, timed out, malformed URL …).
    public func send(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        let pool = self.pool
        return try await pool.withConnection { handle in
            try await pool.runBlocking { try handle.perform(request) }
        }
    }

    /// Stops the client's threads. Calling it twice is harmless.
    public func shutdown() async { await pool.shutdown() }

    /// Runs `body` with a client of its own and shuts the client down afterwards, also when `body` throws.
    public static func withClient<Result: Sendable>(
        maxConcurrentRequests: Int = 1, _ body: (CurlHTTPClient) async throws -> Result
    ) async throws -> Result {
        let client = CurlHTTPClient(maxConcurrentRequests: maxConcurrentRequests)
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }
}

extension CurlHTTPClient: Service {
    /// Waits for the service group's graceful shutdown (or cancellation), then stops the client's threads.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }
}
