import HappeningLoad
import HappeningSystem
import Synchronization

/// Barrier: every connection sends its own request exactly once, all at the same instant (when every loop has
/// opened its connections). Latency runs from that instant. Nothing is retried.
final class BarrierSchedule: LoadSchedule {
    private let requests: [PreparedRequest]
    private let recorder: PhaseRecorder?
    private let gate: BarrierGate
    private var fireAt: UInt64?
    private var sent: [Bool]

    /// `requests[i]` is connection i's request; `recorder` nil for a warm-up (not reported).
    init(requests: [PreparedRequest], recorder: PhaseRecorder?, gate: BarrierGate) {
        self.requests = requests
        self.recorder = recorder
        self.gate = gate
        sent = Array(repeating: false, count: requests.count)
    }

    func loopReady(now: UInt64) { gate.arrive(now: now) }

    func next(connection: Int, now: UInt64) -> LoadDecision {
        if sent[connection] { return .done }
        if fireAt == nil { fireAt = gate.fireAt }
        guard let fire = fireAt else { return .pause(until: now &+ 1_000_000) }
        if now < fire { return .pause(until: fire) }
        sent[connection] = true
        return .send(requests[connection], intendedStart: fire)
    }

    func completed(_ completion: LoadCompletion) { recorder?.record(completion) }

    func tick(now: UInt64) { recorder?.tick(now: now) }

    func loopWoke(late: UInt64, now: UInt64) { recorder?.loopWoke(late: late, now: now) }
}
