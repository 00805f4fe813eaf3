import HappeningLoad
import HappeningSystem
import Synchronization

/// Open model: requests arrive on a fixed schedule (constant rate, or a linear ramp) whatever the server
/// does. Latency runs from each request's intended start, so a stalled server cannot hide its stall by
/// slowing the generator down (coordinated omission, corrected as wrk2 does); starts more than 1 ms late
/// are counted.
final class OpenSchedule: LoadSchedule {
    private var picker: RequestPicker
    private let recorder: PhaseRecorder
    private let start: UInt64
    private let length: Double  // seconds
    private let rate: RateSpec  // this thread's share
    private let maxRequests: Int
    private var issued = 0
    private var nextArrival: UInt64

    init(picker: RequestPicker, recorder: PhaseRecorder, start: UInt64, durationSeconds: Double, rate: RateSpec, maxRequests: Int) {
        self.picker = picker
        self.recorder = recorder
        self.start = start
        length = durationSeconds
        self.rate = rate
        self.maxRequests = maxRequests
        nextArrival = start
    }

    /// When arrival `k` (from 0) is due: k / r for a constant rate; for a ramp the time at which the
    /// integral of the rate reaches k.
    private func arrival(_ k: Int) -> UInt64? {
        let n = Double(k)
        let seconds: Double
        if rate.from == rate.to || length <= 0 {
            seconds = n / rate.from
        } else {
            let slope = (rate.to - rate.from) / length
            seconds = (-rate.from + (rate.from * rate.from + 2 * slope * n).squareRoot()) / slope
        }
        guard seconds.isFinite, seconds < length else { return nil }
        return start &+ UInt64(seconds * 1e9)
    }

    func next(connection: Int, now: UInt64) -> LoadDecision {
        guard issued < maxRequests, let due = arrival(issued) else { return .done }
        if due > now { return .pause(until: due) }
        issued += 1
        if now &- due > 1_000_000 { recorder.countLate() }
        return .send(picker.next(), intendedStart: due)
    }

    func completed(_ completion: LoadCompletion) { recorder.record(completion) }

    func tick(now: UInt64) { recorder.tick(now: now) }

    func loopWoke(late: UInt64, now: UInt64) { recorder.loopWoke(late: late, now: now) }
}
