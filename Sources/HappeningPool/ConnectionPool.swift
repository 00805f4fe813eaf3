import NIOPosix
import Synchronization

/// A connection the pool can lend out. Implementations are handles to a C connection.
public protocol PoolableConnection: AnyObject, Sendable {
    /// False once the connection must not be used again (dropped, or left in an unknown state).
    var isReusable: Bool { get }
    /// Checks, without a round trip, that the peer has not closed the connection while it sat idle.
    func isAliveWhenIdle() -> Bool
}

/// Why the pool could not lend a connection.
public enum ConnectionPoolFailure: Sendable {
    /// No connection became free within the checkout timeout.
    case checkoutTimeout
    /// The pool has been closed.
    case closed
    /// The waiting task was cancelled.
    case cancelled
}

/// A bounded, fair pool of blocking C connections with threads of its own, shared by the client modules.
///
/// - Every blocking call (``runBlocking(_:)``, and opening a connection) runs on the pool's own threads,
///   one per connection, never on Swift's cooperative pool or an event loop (NIO's shared blocking pool has
///   only as many threads as cores).
/// - Connections open lazily (with the `connect` closure), up to `maxConnections` — or ahead of need with
///   ``warm(upTo:)``: a burst that finds every connection busy opens new ones, and opening one (a PostgreSQL
///   backend's fork and password exchange) costs far more than waiting a moment for one to come back.
/// - When all are busy, callers wait in line and are served first come, first served; one that waits longer
///   than `checkoutTimeout` fails with ``ConnectionPoolFailure/checkoutTimeout``.
/// - A connection found dead on checkout, or given back not reusable, is dropped and its slot reused for a
///   fresh connection: a dropped connection is replaced, never reused.
public final class ConnectionPool<Connection: PoolableConnection>: Sendable {
    private let maxConnections: Int
    private let checkoutTimeout: Duration
    private let open: @Sendable () throws -> Connection
    private let failure: @Sendable (ConnectionPoolFailure) -> any Error
    private let state = Mutex(State())
    private let threads: NIOThreadPool

    /// Creates a pool.
    /// - Parameters:
    ///   - maxConnections: most connections open at once.
    ///   - checkoutTimeout: how long a caller may wait in line.
    ///   - open: opens one connection, blocking (it runs on the pool's threads).
    ///   - failure: makes the error thrown for each ``ConnectionPoolFailure`` (the client's own error type).
    public init(
        maxConnections: Int,
        checkoutTimeout: Duration,
        open: @escaping @Sendable () throws -> Connection,
        failure: @escaping @Sendable (ConnectionPoolFailure) -> any Error
    ) {
        self.maxConnections = max(1, maxConnections)
        self.checkoutTimeout = checkoutTimeout
        self.open = open
        self.failure = failure
        self.threads = NIOThreadPool(numberOfThreads: self.maxConnections)
        self.threads.start()
    }

    deinit {
        // A pool that was never shut down still stops its threads (NIOThreadPool asserts otherwise).
        if !state.withLock({ $0.threadsStopped }) { threads.shutdownGracefully { _ in } }
    }

    /// Lends a connection for the duration of `body`, then takes it back.
    public func withConnection<T: Sendable>(_ body: (Connection) async throws -> T) async throws -> T {
        let connection = try await lease()
        do {
            let value = try await body(connection)
            release(connection)
            return value
        } catch {
            release(connection)
            throw error
        }
    }

    /// Opens connections, all at once on the pool's threads, until `count` (all it may hold: nil) are open, and keeps
    /// them idle; returns how many it opened. One that fails to open is not retried here: its slot opens lazily
    /// later, as without warming.
    @discardableResult
    public func warm(upTo count: Int? = nil) async -> Int {
        let wanted = state.withLock { state -> Int in
            guard !state.closed else { return 0 }
            let more = max(0, min(count ?? maxConnections, maxConnections) - state.open)
            state.open += more
            return more
        }
        let open = self.open
        return await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<wanted {
                group.addTask {
                    do {
                        self.release(try await self.runBlocking { try open() })
                        return true
                    } catch {
                        self.releaseSlot()
                        return false
                    }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
    }

    /// Runs a blocking call on one of the pool's threads; fails with ``ConnectionPoolFailure/closed`` after
    /// ``shutdown()`` and with ``ConnectionPoolFailure/cancelled`` if the task is cancelled before it starts.
    public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await threads.runIfActive(body)
        } catch is NIOThreadPoolError.ThreadPoolInactive {
            throw failure(.closed)
        } catch is CancellationError {
            throw failure(.cancelled)
        }
    }

    /// Closes the pool (see ``close()``) and stops its threads. Calling it twice is harmless.
    public func shutdown() async {
        close()
        let stop = state.withLock { state in
            defer { state.threadsStopped = true }
            return !state.threadsStopped
        }
        if stop { try? await threads.shutdownGracefully() }
    }

    /// Lends a connection; give it back with ``release(_:)`` exactly once.
    func lease() async throws -> Connection {
        while true {
            switch try await acquire() {
            case .ready(let connection):
                if connection.isAliveWhenIdle() { return connection }
                state.withLock { $0.replaced += 1 }
                releaseSlot()
            case .mustConnect:
                do {
                    let open = self.open
                    return try await runBlocking { try open() }
                } catch {
                    releaseSlot()
                    throw error
                }
            }
        }
    }

    /// Takes a connection back: to the next caller in line, to the idle list, or (not reusable, or the
    /// pool closed) to nowhere, which closes it when the last reference goes.
    func release(_ connection: Connection) {
        guard connection.isReusable else {
            state.withLock { $0.replaced += 1 }
            releaseSlot()
            return
        }
        let waiter = state.withLock { state -> Waiter? in
            if state.closed {
                state.open -= 1
                return nil
            }
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.idle.append(connection)
            return nil
        }
        waiter?.continuation.resume(returning: .ready(connection))
    }

    /// Closes the pool: idle connections are dropped, callers in line fail with ``ConnectionPoolFailure/closed``,
    /// and connections still lent out are dropped when given back.
    func close() {
        let (waiters, idle) = state.withLock { state -> ([Waiter], [Connection]) in
            state.closed = true
            defer {
                state.waiters.removeAll()
                state.open -= state.idle.count
                state.idle.removeAll()
            }
            return (state.waiters, state.idle)
        }
        for waiter in waiters { waiter.continuation.resume(throwing: failure(.closed)) }
        _ = idle  // the last references go here
    }

    /// A snapshot of the pool's counters.
    public var statistics: ConnectionPoolStatistics {
        state.withLock {
            ConnectionPoolStatistics(
                open: $0.open, idle: $0.idle.count, waiting: $0.waiters.count,
                totalWaits: $0.totalWaits, checkoutTimeouts: $0.checkoutTimeouts, replacedConnections: $0.replaced
            )
        }
    }

    // MARK: Mechanics

    private enum Lease: Sendable {
        case ready(Connection)
        case mustConnect
    }

    private enum Decision {
        case resume(Lease)
        case fail(ConnectionPoolFailure)
        case wait
    }

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Lease, any Error>
    }

    private struct State {
        var idle: [Connection] = []
        /// Connections open or being opened (idle + lent + connecting).
        var open = 0
        var waiters: [Waiter] = []
        var cancelledWaiters: Set<Int> = []
        var nextWaiterID = 0
        var closed = false
        var threadsStopped = false
        var totalWaits = 0
        var checkoutTimeouts = 0
        var replaced = 0
    }

    /// Takes an idle connection, reserves a slot for a new one, or waits in line.
    private func acquire() async throws -> Lease {
        let id = state.withLock { state -> Int in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Lease, any Error>) in
                let decision = state.withLock { state -> Decision in
                    if state.closed { return .fail(.closed) }
                    if state.cancelledWaiters.remove(id) != nil { return .fail(.cancelled) }
                    if state.waiters.isEmpty, let connection = state.idle.popLast() { return .resume(.ready(connection)) }
                    if state.waiters.isEmpty, state.open < maxConnections {
                        state.open += 1
                        return .resume(.mustConnect)
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    state.totalWaits += 1
                    return .wait
                }
                switch decision {
                case .resume(let lease): continuation.resume(returning: lease)
                case .fail(let reason): continuation.resume(throwing: failure(reason))
                case .wait:
                    let timeout = checkoutTimeout
                    Task { [weak self] in
                        try? await Task.sleep(for: timeout)
                        self?.abandon(id, reason: .checkoutTimeout)
                    }
                }
            }
        } onCancel: {
            abandon(id, reason: .cancelled)
        }
    }

    /// Removes a caller still in line (timeout or cancellation) and fails it.
    private func abandon(_ id: Int, reason: ConnectionPoolFailure) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else {
                // Cancelled before it got in line: remember, so it does not wait forever.
                if case .cancelled = reason { state.cancelledWaiters.insert(id) }
                return nil
            }
            if case .checkoutTimeout = reason { state.checkoutTimeouts += 1 }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(throwing: failure(reason))
    }

    /// Gives a slot back; the next caller in line (if any) may open a connection in it.
    private func releaseSlot() {
        let waiter = state.withLock { state -> Waiter? in
            if !state.closed, !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.open -= 1
            return nil
        }
        waiter?.continuation.resume(returning: .mustConnect)
    }
}

/// Counters describing a ``ConnectionPool`` at one moment.
public struct ConnectionPoolStatistics: Sendable, Equatable {
    /// Connections open or being opened.
    public var open: Int
    /// Connections idle in the pool.
    public var idle: Int
    /// Callers waiting for a connection now.
    public var waiting: Int
    /// Callers that had to wait, since start.
    public var totalWaits: Int
    /// Callers that gave up after the checkout timeout, since start.
    public var checkoutTimeouts: Int
    /// Connections found dead (or left unusable) and replaced, since start.
    public var replacedConnections: Int
}
