import HappeningLoad
import HappeningSystem
import Synchronization

/// The instant the scenario's load begins (monotonic nanoseconds): the first phase's start, or for a barrier the
/// moment every request leaves, after all connections are open. Faults are timed from it. Set once.
final class LoadStartSignal: Sendable {
    private let instant = Mutex<UInt64?>(nil)

    func set(monotonic: UInt64) { instant.withLock { if $0 == nil { $0 = monotonic } } }

    var monotonic: UInt64? { instant.withLock { $0 } }
}
