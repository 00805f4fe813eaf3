import Foundation
import HappeningSystem
import Logging
import ServiceLifecycle
import Synchronization

/// Tells a process the moment a Redis key under some prefixes changes anywhere — Redis's server-assisted
/// client-side caching, so the process can keep in-memory copies of those keys and drop each one when it
/// changes.
///
/// One dedicated connection on its own thread sends `CLIENT TRACKING on REDIRECT <its own id> BCAST PREFIX …`
/// and `SUBSCRIBE __redis__:invalidate`; from then on Redis pushes the name of every key under the prefixes
/// that is written, deleted, expired or evicted, by any client. The handler sees:
/// - ``Event/live`` once subscribed: from now on every change is reported;
/// - ``Event/invalidated(_:)`` with the keys that changed;
/// - ``Event/reset`` when changes may have gone unseen (connection lost, Redis restarted, `FLUSHALL`): every
///   copy must be dropped, and none kept until the next ``Event/live``.
///
/// A lost connection is retried with backoff (0.1 s doubling to 5 s). The handler runs on the listener's
/// thread and must be quick (take a lock, update a dictionary).
///
/// ```swift
/// let listener = RedisInvalidationListener(configuration: config, prefixes: ["event"]) { event in
///     nearCache.apply(event)
/// }
/// // added to a ServiceGroup; stops on graceful shutdown
/// ```
public final class RedisInvalidationListener: Service, Sendable {
    /// What the listener reports.
    public enum Event: Sendable, Equatable {
        /// Subscribed: from now on every change under the prefixes is reported.
        case live
        /// These keys changed (written, deleted, expired or evicted).
        case invalidated([String])
        /// Changes may have gone unseen: drop every copy and keep none until the next ``live``.
        case reset
    }

    /// The channel Redis pushes invalidations to.
    public static let channel = "__redis__:invalidate"

    private let configuration: RedisConfiguration
    private let prefixes: [String]
    private let connectionName: String
    private let logger: Logger
    private let handler: @Sendable (Event) -> Void
    private let stopped = Atomic<Bool>(false)
    /// How often the thread looks at the stop flag while no message arrives.
    private let pollMilliseconds: Int32 = 200

    /// - Parameters:
    ///   - prefixes: key prefixes to hear about (Redis refuses prefixes that overlap one another).
    ///   - connectionName: the connection's `CLIENT SETNAME` (what `CLIENT LIST` shows).
    ///   - handler: called on the listener's thread for every event.
    public init(
        configuration: RedisConfiguration, prefixes: [String], connectionName: String = "happening-invalidations",
        logger: Logger = Logger(label: "happening.redis.tracking"), handler: @escaping @Sendable (Event) -> Void
    ) {
        self.configuration = configuration
        self.prefixes = prefixes
        self.connectionName = connectionName
        self.logger = logger
        self.handler = handler
    }

    /// Listens until graceful shutdown or cancellation; the handler's last event is ``Event/reset``.
    public func run() async throws {
        await runOnDedicatedThread(named: "happening.redis.tracking", { self.loop() }) { _ in
            self.stopped.store(true, ordering: .relaxed)
        }
    }

    // MARK: The listener thread

    private var isStopped: Bool { stopped.load(ordering: .relaxed) }

    private func loop() {
        var backoff = Duration.milliseconds(100)
        var failing = false
        while !isStopped {
            var wasLive = false
            do {
                let handle = try subscribe()
                wasLive = true
                backoff = .milliseconds(100)
                handler(.live)
                logger.log(level: failing ? .info : .debug, "cache invalidation listener subscribed", metadata: ["prefixes": "\(prefixes)"])
                failing = false
                while !isStopped {
                    guard let message = try handle.nextPush(timeoutMilliseconds: pollMilliseconds) else { continue }
                    if let event = Self.event(from: message) { handler(event) }
                }
            } catch {
                // Once per outage: retries while Redis stays away are logged at debug.
                logger.log(
                    level: failing ? .debug : .warning,
                    "cache invalidation listener lost Redis; in-process copies are dropped until it is back",
                    metadata: ["error": "\(error)"])
                failing = true
            }
            handler(.reset)
            if !wasLive { backoff = min(backoff * 2, .seconds(5)) }
            sleepUnlessStopped(backoff)
        }
    }

    /// Opens the connection and subscribes it to its own invalidations.
    private func subscribe() throws -> HiredisHandle {
        let handle = try HiredisHandle(configuration: configuration)
        _ = try HiredisHandle.throwingErrors(handle.execute([["CLIENT", "SETNAME", RedisArgument(connectionName)]])[0])
        guard let id = try HiredisHandle.throwingErrors(handle.execute([["CLIENT", "ID"]])[0]).integer else {
            throw RedisError(kind: .unexpectedReply)
        }
        var tracking: [RedisArgument] = ["CLIENT", "TRACKING", "on", "REDIRECT", RedisArgument(Int(id)), "BCAST"]
        for prefix in prefixes { tracking += ["PREFIX", RedisArgument(prefix)] }
        _ = try HiredisHandle.throwingErrors(handle.execute([tracking])[0])
        _ = try HiredisHandle.throwingErrors(handle.execute([["SUBSCRIBE", RedisArgument(Self.channel)]])[0])
        return handle
    }

    /// `["message", channel, [key, …]]` → the keys; a null payload (`FLUSHALL`, `FLUSHDB`) → reset.
    static func event(from message: RedisValue) -> Event? {
        guard case .array(let parts) = message, parts.count == 3, parts[0].string == "message", parts[1].string == channel else {
            return nil
        }
        switch parts[2] {
        case .array(let keys): return .invalidated(keys.compactMap(\.string))
        case .bulk(let key): return .invalidated([String(decoding: key, as: UTF8.self)])
        default: return .reset
        }
    }

    private func sleepUnlessStopped(_ duration: Duration) {
        let deadline = ContinuousClock.now + duration
        while !isStopped, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
}
