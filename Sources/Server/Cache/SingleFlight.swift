import Synchronization

/// One load per key at a time: concurrent callers asking for the same key wait for the load already running
/// and share its result (or its error). Nothing is kept afterwards: the next caller loads again.
final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let running = Mutex([Key: Task<Value, any Error>]())

    /// Runs `load` for `key` unless a load of it is running, whose result is returned instead.
    func value(for key: Key, _ load: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let task = running.withLock { running -> Task<Value, any Error> in
            if let task = running[key] { return task }
            let task = Task { try await load() }
            running[key] = task
            return task
        }
        defer { running.withLock { running in if running[key] == task { running[key] = nil } } }
        return try await task.value
    }
}
