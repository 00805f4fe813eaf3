import HappeningPool

/// A small HTTP/1.1 client on libcurl's easy interface, for outbound calls such as the payment gateway.
///
/// ```swift
/// let http = CurlHTTPClient()
/// let response = try await http.send(HTTPClientRequest(method: "POST", url: "\(base)/v1/orders",
///                                                headers: [("Content-Type", "application/json")], body: json,
///                                                basicAuth: (keyID, keySecret)))
/// await http.shutdown()
/// ```
///
/// Transfers run on the client's own threads (one per concurrent request, up to `maxConcurrentRequests`);
/// easy handles are reused, so keep-alive connections are too. Redirects are not followed.
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
                case .checkoutTimeout: CurlError(code: 28, message: "no transfer slot became free in time")
                case .closed: CurlError(code: 43, message: "client shut down")
                case .cancelled: CurlError(code: 42, message: "cancelled")
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
}
