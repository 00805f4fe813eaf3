import HappeningLoad
import HappeningSystem
import Synchronization

/// Where the loops of a barrier phase meet: the phase fires 5 ms after the last loop is ready (with the raw
/// engine, after every connection of every loop is open), so all requests leave at the same instant.
final class BarrierGate: Sendable {
    private let state: Mutex<(arrived: Int, latest: UInt64, fireAt: UInt64?)>
    private let lanes: Int
    private let notBefore: UInt64
    private let onFire: LoadStartSignal?
    private let memory: MemoryWatch?

    /// - Parameters: `notBefore`: the phase's planned start (`--start-at` aligns it across processes);
    ///   `onFire`: told the firing instant; `memory`: read when every connection is open.
    init(lanes: Int, notBefore: UInt64, onFire: LoadStartSignal? = nil, memory: MemoryWatch? = nil) {
        self.lanes = lanes
        self.notBefore = notBefore
        self.onFire = onFire
        self.memory = memory
        state = Mutex((0, 0, nil))
    }

    func arrive(now: UInt64) {
        let fired = state.withLock { state -> UInt64? in
            state.arrived += 1
            state.latest = max(state.latest, now)
            if state.arrived == lanes { state.fireAt = max(notBefore, state.latest &+ 5_000_000) }
            return state.arrived == lanes ? state.fireAt : nil
        }
        if let fired {
            onFire?.set(monotonic: fired)
            memory?.sample()
        }
    }

    /// The firing instant, once every loop is ready.
    var fireAt: UInt64? { state.withLock { $0.fireAt } }
}
