import HappeningPool
import Logging
import ServiceLifecycle

/// A bounded pool of libpq connections with an async API.
///
/// ```swift
/// let client = PostgresClient(configuration: .init(url: databaseURL), logger: logger)
/// let rows = try await client.query("SELECT title FROM events WHERE id = $1", [eventID])
/// try await client.withConnection { conn in
///     try await conn.withTransaction { tx in … }
/// }
/// await client.shutdown()   // or run it as a Service: `run()` shuts it down on graceful shutdown
/// ```
///
/// - Connections open lazily, up to ``PostgresConfiguration/poolSize``.
/// - Waiting is fair: when every connection is busy, callers are served first come, first served, and a
///   caller that waits longer than ``PostgresConfiguration/checkoutTimeout`` gets a `.checkoutTimeout` error.
/// - A connection the server dropped (restart, `pg_terminate_backend`) is detected when it is checked out
///   or when a call on it fails, and is replaced by a fresh one, never reused.
/// - Blocking libpq calls run on the client's own threads (one per pooled connection), never on Swift's
///   cooperative pool or an event loop.
public final class PostgresClient: Service, Sendable {
    /// The configuration the client was created with.
    public let configuration: PostgresConfiguration
    private let logger: Logger
    private let pool: ConnectionPool<LibPQHandle>

    /// Creates the client. No connection is opened until the first call (or ``warm()``).
    public init(configuration: PostgresConfiguration, logger: Logger = Logger(label: "happening.postgres")) {
        self.configuration = configuration
        self.logger = logger
        let parameters = configuration.connectionParameters
        self.pool = ConnectionPool(
            maxConnections: configuration.poolSize,
            checkoutTimeout: configuration.checkoutTimeout,
            open: { [prepared = configuration.preparedStatements] in
                try LibPQHandle(keywords: parameters.keywords, values: parameters.values, preparedStatements: prepared)
            },
            failure: { reason in
                switch reason {
                case .checkoutTimeout: PostgresError(kind: .checkoutTimeout)
                case .closed: PostgresError(kind: .clientClosed)
                case .cancelled: PostgresError(kind: .cancelled)
                }
            }
        )
    }

    // MARK: Service

    /// Opens every connection the pool may hold now, instead of when a burst first needs them; returns how many
    /// opened (``ConnectionPool/warm(upTo:)``).
    @discardableResult
    public func warm() async -> Int { await pool.warm() }

    /// Runs until graceful shutdown (or cancellation), then closes every connection.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Closes idle connections, fails waiting callers, and stops the client's threads. Connections still
    /// leased are closed when they are given back. Calling it twice is harmless.
    public func shutdown() async {
        await pool.shutdown()
        logger.debug("postgres client shut down")
    }

    // MARK: Leases

    /// Leases a connection for the duration of `body`, then returns it to the pool. If `body` leaves a
    /// transaction open, the connection is discarded rather than reused.
    @discardableResult
    public func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await pool.withConnection { handle in
            try await body(PostgresConnection(handle: handle, pool: pool))
        }
    }

    /// Runs one statement on a pooled connection. See ``PostgresConnection/query(_:_:)``.
    @discardableResult
    public func query(_ sql: String, _ bindings: PostgresBindings = []) async throws -> PostgresRows {
        try await withConnection { try await $0.query(sql, bindings) }
    }

    /// Asks a pooled connection `SELECT 1`: true when the server answered (health checks).
    public func ping() async throws -> Bool {
        try await query("SELECT 1").count == 1
    }

    /// Runs `body` in a transaction on a pooled connection. See ``PostgresConnection/withTransaction(isolation:_:)``.
    @discardableResult
    public func withTransaction<T: Sendable>(
        isolation: PostgresIsolationLevel = .readCommitted,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withConnection { try await $0.withTransaction(isolation: isolation, body) }
    }

    /// A snapshot of the pool, for metrics and health checks.
    public var statistics: ConnectionPoolStatistics { pool.statistics }
}
