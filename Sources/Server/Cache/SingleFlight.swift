import Synchronization

/// One load per key at a time: concurrent callers asking for the same key wait for the load already running
/// and share its result (or its error). Nothing is kept afterwards: the next caller loads again.
final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let running = Mutex([Key: Task<Value, any Error>]())

    /// Runs `load` for `key` unless a load of it is running, whose result is returned instead.
    func value(for key: Key, _ load: @escaping @Sendable () async throws -> Value) async throws -> Value {
        try await run(for: key, load).value
    }

    /// ``value(for:_:)``, and whether this caller's `load` ran (false: it shared a load already running, which may
    /// have started before this call).
    func run(for key: Key, _ load: @escaping @Sendable () async throws -> Value) async throws -> (value: Value, loadedHere: Bool) {
        let (task, loadedHere) = running.withLock { running -> (Task<Value, any Error>, Bool) in
            if let task = running[key] { return (task, false) }
            let task = Task { try await load() }
            running[key] = task
            return (task, true)
        }
        defer { running.withLock { running in if running[key] == task { running[key] = nil } } }
        return (try await task.value, loadedHere)
    }
}
