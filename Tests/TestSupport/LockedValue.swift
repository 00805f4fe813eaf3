import Synchronization

/// A value many test tasks update: a `Mutex` in a class, so closures can share it.
public final class LockedValue<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    /// Wraps an initial value.
    public init(_ value: Value) { self.mutex = Mutex(value) }

    /// Reads or updates the value under the lock.
    public func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }

    /// The current value.
    public var value: Value { mutex.withLock { $0 } }
}
