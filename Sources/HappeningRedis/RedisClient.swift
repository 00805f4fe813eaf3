import HappeningPool
import HappeningSystem
import Logging
import ServiceLifecycle
import Synchronization

/// A pool of hiredis connections with an async API. Commands are sent as argv (binary safe).
///
/// ```swift
/// let redis = try RedisClient(configuration: .init(url: redisURL))
/// try await redis.set("event:42", value: json, expiresIn: .seconds(300))
/// let cached = try await redis.get("event:42")
/// let replies = try await redis.pipeline([["INCR", "hits"], ["EXPIRE", "hits", "60"]])
/// ```
///
/// A connection the server closed (restart, `CLIENT KILL`) is detected on checkout and replaced; one that
/// fails or times out during a command is dropped, and that command throws `.connection`.
public final class RedisClient: Service, Sendable {
    /// The configuration the client was created with.
    public let configuration: RedisConfiguration
    private let logger: Logger
    private let pool: ConnectionPool<HiredisHandle>
    private let scriptSHAs = Mutex([String: String]())

    /// Creates the client. No connection is opened until the first command.
    public init(configuration: RedisConfiguration, logger: Logger = Logger(label: "happening.redis")) {
        self.configuration = configuration
        self.logger = logger
        self.pool = ConnectionPool(
            maxConnections: configuration.poolSize,
            checkoutTimeout: configuration.checkoutTimeout,
            open: { try HiredisHandle(configuration: configuration) },
            failure: { reason in
                switch reason {
                case .checkoutTimeout: RedisError(kind: .checkoutTimeout)
                case .closed: RedisError(kind: .clientClosed)
                case .cancelled: RedisError(kind: .cancelled)
                }
            }
        )
    }

    /// Opens every connection the pool may hold now, instead of when a burst first needs them; returns how many
    /// opened (``ConnectionPool/warm(upTo:)``).
    @discardableResult
    public func warm() async -> Int { await pool.warm() }

    /// Runs until graceful shutdown (or cancellation), then closes every connection.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Closes the pool and stops its threads. Calling it twice is harmless.
    public func shutdown() async {
        await pool.shutdown()
        logger.debug("redis client shut down")
    }

    /// A snapshot of the pool, for metrics and health checks.
    public var statistics: ConnectionPoolStatistics { pool.statistics }

    // MARK: Commands

    /// Sends one command; an error reply throws ``RedisError`` with kind `.server`.
    @discardableResult
    public func send(_ command: [RedisArgument]) async throws -> RedisValue {
        try HiredisHandle.throwingErrors(try await pipeline([command])[0])
    }

    /// Sends several commands in one round trip and returns their replies in order. An error reply for
    /// one command is returned as ``RedisValue/error(_:)`` in its place; the others still run.
    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [RedisValue] {
        guard !commands.isEmpty else { return [] }
        let pool = self.pool
        return try await pool.withConnection { handle in
            try await pool.runBlocking { try handle.execute(commands) }
        }
    }

    /// `PING`.
    public func ping() async throws -> Bool { try await send(["PING"]).string == "PONG" }

    /// `GET key`: the value's bytes, or nil when the key is missing.
    public func get(_ key: String) async throws -> [UInt8]? { try await send(["GET", RedisArgument(key)]).bytes }

    /// `GET key` as UTF-8 text.
    public func getString(_ key: String) async throws -> String? { try await send(["GET", RedisArgument(key)]).string }

    /// `SET key value [EX seconds] [NX]`. Returns false when `NX` was asked and the key already existed.
    @discardableResult
    public func set(_ key: String, value: RedisArgument, expiresIn: Duration? = nil, onlyIfNotExists: Bool = false) async throws -> Bool {
        var command: [RedisArgument] = ["SET", RedisArgument(key), value]
        if let expiresIn {
            command += ["PX", RedisArgument(Int(expiresIn.components.seconds * 1000 + expiresIn.components.attoseconds / 1_000_000_000_000_000))]
        }
        if onlyIfNotExists { command.append("NX") }
        return try await send(command) != .null
    }

    /// `DEL key …`: how many keys existed.
    @discardableResult
    public func delete(_ keys: [String]) async throws -> Int {
        guard !keys.isEmpty else { return 0 }
        return Int(try await send(["DEL"] + keys.map { RedisArgument($0) }).integer ?? 0)
    }

    /// `INCR key`: the new value.
    @discardableResult
    public func increment(_ key: String) async throws -> Int64 {
        guard let value = try await send(["INCR", RedisArgument(key)]).integer else { throw RedisError(kind: .unexpectedReply) }
        return value
    }

    /// `EXPIRE key seconds`: false when the key does not exist.
    @discardableResult
    public func expire(_ key: String, after seconds: Int) async throws -> Bool {
        try await send(["EXPIRE", RedisArgument(key), RedisArgument(seconds)]).integer == 1
    }

    /// `TTL key`: seconds left, -1 for no expiry, -2 for a missing key.
    public func ttl(_ key: String) async throws -> Int {
        Int(try await send(["TTL", RedisArgument(key)]).integer ?? -2)
    }

    /// `PUBLISH channel message`: how many subscribers received it.
    @discardableResult
    public func publish(_ channel: String, message: RedisArgument) async throws -> Int {
        Int(try await send(["PUBLISH", RedisArgument(channel), message]).integer ?? 0)
    }

    /// `SCRIPT LOAD`: the script's SHA1, for ``evalScript(_:keys:arguments:)``.
    public func loadScript(_ script: String) async throws -> String {
        guard let sha = try await send(["SCRIPT", "LOAD", RedisArgument(script)]).string else { throw RedisError(kind: .unexpectedReply) }
        return sha
    }

    /// `EVAL script numkeys keys… args…`.
    public func eval(_ script: String, keys: [String] = [], arguments: [RedisArgument] = []) async throws -> RedisValue {
        try await send(["EVAL", RedisArgument(script), RedisArgument(keys.count)] + keys.map { RedisArgument($0) } + arguments)
    }

    /// `EVALSHA sha numkeys keys… args…`.
    public func evalSHA(_ sha: String, keys: [String] = [], arguments: [RedisArgument] = []) async throws -> RedisValue {
        try await send(["EVALSHA", RedisArgument(sha), RedisArgument(keys.count)] + keys.map { RedisArgument($0) } + arguments)
    }

    /// Runs a script by SHA1 (`EVALSHA`): loaded once, and loaded again when Redis has forgotten it
    /// (`NOSCRIPT`, e.g. after a restart).
    public func evalScript(_ script: String, keys: [String] = [], arguments: [RedisArgument] = []) async throws -> RedisValue {
        let known = scriptSHAs.withLock { $0[script] }
        let sha: String
        if let known { sha = known } else { sha = try await loadScript(script) }
        scriptSHAs.withLock { $0[script] = sha }
        do {
            return try await evalSHA(sha, keys: keys, arguments: arguments)
        } catch let error as RedisError where error.code == "NOSCRIPT" {
            return try await evalSHA(try await loadScript(script), keys: keys, arguments: arguments)
        }
    }
}
