import HappeningSystem

/// How a ``PostgresClient`` connects and sizes its pool.
///
/// | property | default | meaning |
/// |---|---|---|
/// | `url` | — | `postgres://user:password@host:port/database` (libpq URI; `DATABASE_URL`) |
/// | `poolSize` | 10 | most connections open at once (and threads running libpq calls) |
/// | `checkoutTimeout` | 10 s | how long a caller waits for a free connection before `.checkoutTimeout` |
/// | `connectTimeout` | 5 s | libpq `connect_timeout` |
/// | `statementTimeout` | none | server-side `statement_timeout` for every statement |
/// | `lockTimeout` | none | server-side `lock_timeout` (lock waits past it fail with 55P03, a transient error) |
/// | `applicationName` | `happening` | shown in `pg_stat_activity` |
/// | `preparedStatements` | 256 | statements with parameters each connection keeps prepared (parsed once, then bound and run; PostgreSQL plans them generically when that costs no more); 0 = none |
///
/// Every session runs with `TimeZone=UTC` and `DateStyle=ISO`, which the value decoding relies on.
public struct PostgresConfiguration: Sendable {
    /// `postgres://user:password@host:port/database`.
    public var url: String
    /// Most connections open at once.
    public var poolSize: Int
    /// How long a caller waits for a free connection.
    public var checkoutTimeout: Duration
    /// How long a connection attempt may take.
    public var connectTimeout: Duration
    /// Server-side limit for every statement, if set.
    public var statementTimeout: Duration?
    /// Server-side `lock_timeout` for every statement, if set (a lock wait past it fails with 55P03).
    public var lockTimeout: Duration?
    /// Shown in `pg_stat_activity`.
    public var applicationName: String
    /// Statements with parameters each connection prepares and keeps (by their text); 0 sends every statement with
    /// its parameters to be parsed again (`PQexecParams`).
    public var preparedStatements: Int

    /// Creates a configuration; see the table above for the defaults.
    public init(
        url: String,
        poolSize: Int = 10,
        checkoutTimeout: Duration = .seconds(10),
        connectTimeout: Duration = .seconds(5),
        statementTimeout: Duration? = nil,
        lockTimeout: Duration? = nil,
        applicationName: String = "happening",
        preparedStatements: Int = 256
    ) {
        self.url = url
        self.poolSize = poolSize
        self.checkoutTimeout = checkoutTimeout
        self.connectTimeout = connectTimeout
        self.statementTimeout = statementTimeout
        self.lockTimeout = lockTimeout
        self.applicationName = applicationName
        self.preparedStatements = max(0, preparedStatements)
    }

    /// libpq keyword/value pairs (`dbname` holds the URL, which libpq expands).
    var connectionParameters: (keywords: [String], values: [String]) {
        var options = "-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=iso_8601 -c extra_float_digits=1"
        if let statementTimeout { options += " -c statement_timeout=\(statementTimeout.milliseconds)" }
        if let lockTimeout { options += " -c lock_timeout=\(lockTimeout.milliseconds)" }
        return (
            ["dbname", "connect_timeout", "application_name", "options"],
            [url, String(max(1, connectTimeout.components.seconds)), applicationName, options]
        )
    }
}
