import Foundation

/// How a ``RedisClient`` connects and sizes its pool.
///
/// | property | default | meaning |
/// |---|---|---|
/// | `host`, `port` | from `url` | `redis://[:password@]host[:port][/db]` (`REDIS_URL`; port 6379 if absent) |
/// | `password`, `database` | from `url` | `AUTH` and `SELECT` sent on each new connection |
/// | `poolSize` | 8 | most connections open at once (and threads running hiredis calls) |
/// | `connectTimeout` | 2 s | TCP connect limit |
/// | `commandTimeout` | 2 s | socket read/write limit per command; a timed-out connection is replaced |
/// | `checkoutTimeout` | 5 s | how long a caller waits for a free connection |
public struct RedisConfiguration: Sendable {
    /// Server address.
    public var host: String
    /// Server port.
    public var port: Int
    /// Sent with `AUTH` on connect, if set. Never logged.
    public var password: String?
    /// Sent with `SELECT` on connect when not 0.
    public var database: Int
    /// Most connections open at once.
    public var poolSize: Int
    /// TCP connect limit.
    public var connectTimeout: Duration
    /// Socket read/write limit per command.
    public var commandTimeout: Duration
    /// How long a caller waits for a free connection.
    public var checkoutTimeout: Duration

    /// Errors reading a Redis URL.
    public struct InvalidURL: Error, CustomStringConvertible {
        public var description: String { "REDIS_URL must look like redis://[:password@]host[:port][/db]" }
    }

    /// Parses `redis://[:password@]host[:port][/db]`; see the table above for the other defaults.
    public init(
        url: String,
        poolSize: Int = 8,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(2),
        checkoutTimeout: Duration = .seconds(5)
    ) throws {
        guard let components = URLComponents(string: url), components.scheme == "redis", let host = components.host, !host.isEmpty else {
            throw InvalidURL()
        }
        self.host = host
        self.port = components.port ?? 6379
        self.password = components.password.flatMap { $0.isEmpty ? nil : $0.removingPercentEncoding }
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard path.isEmpty || Int(path) != nil else { throw InvalidURL() }
        self.database = Int(path) ?? 0
        self.poolSize = poolSize
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.checkoutTimeout = checkoutTimeout
    }
}
