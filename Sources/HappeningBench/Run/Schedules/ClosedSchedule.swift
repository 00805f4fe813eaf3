import HappeningLoad
import HappeningSystem
import Synchronization

/// Closed model: every connection sends its next request as soon as the previous response arrived (plus
/// the think time), until the deadline or the request cap.
final class ClosedSchedule: LoadSchedule {
    private var picker: RequestPicker
    private let recorder: PhaseRecorder
    private let start: UInt64
    private let deadline: UInt64
    private let maxRequests: Int
    private let think: UInt64
    private var issued = 0
    private var readyAt: [UInt64]

    init(picker: RequestPicker, recorder: PhaseRecorder, connections: Int, start: UInt64, deadline: UInt64, maxRequests: Int, thinkNanoseconds: UInt64) {
        self.picker = picker
        self.recorder = recorder
        self.start = start
        self.deadline = deadline
        self.maxRequests = maxRequests
        think = thinkNanoseconds
        readyAt = Array(repeating: 0, count: connections)
    }

    func next(connection: Int, now: UInt64) -> LoadDecision {
        if now < start { return .pause(until: start) }
        if now >= deadline || issued >= maxRequests { return .done }
        if think > 0, readyAt[connection] > now { return .notYet(until: readyAt[connection]) }
        issued += 1
        return .send(picker.next(), intendedStart: now)
    }

    func completed(_ completion: LoadCompletion) {
        recorder.record(completion)
        if think > 0 { readyAt[completion.connection] = completion.end &+ think }
    }

    func tick(now: UInt64) { recorder.tick(now: now) }

    func loopWoke(late: UInt64, now: UInt64) { recorder.loopWoke(late: late, now: now) }
}
