import HappeningLoad
import HappeningSystem
import Synchronization

/// A small fast generator for picking requests on the hot path (xorshift64*; no allocation).
struct FastRandom: UnitRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}

/// Picks what to send from pre-rendered requests: a template by weight, then one of its instances.
struct RequestPicker {
    let instances: [[PreparedRequest]]
    private let weights: WeightedTable
    private var random: FastRandom

    init(instances: [[PreparedRequest]], weights: [Double], seed: UInt64) {
        self.instances = instances
        self.weights = WeightedTable(weights: weights)
        random = FastRandom(seed: seed)
    }

    mutating func next() -> PreparedRequest {
        let choices = instances[weights.pick(using: &random)]
        return choices[Int(random.next() % UInt64(choices.count))]
    }
}

/// Closed model: every connection sends its next request as soon as the previous response arrived (plus
/// the think time), until the deadline or the request cap.
final class ClosedSchedule: CurlLoadSchedule {
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

    func next(connection: Int, now: UInt64) -> CurlLoadDecision {
        if now < start { return .pause(until: start) }
        if now >= deadline || issued >= maxRequests { return .done }
        if think > 0, readyAt[connection] > now { return .notYet(until: readyAt[connection]) }
        issued += 1
        return .send(picker.next(), intendedStart: now)
    }

    func completed(_ completion: CurlCompletion) {
        recorder.record(completion)
        if think > 0 { readyAt[completion.connection] = completion.end &+ think }
    }

    func tick(now: UInt64) { recorder.tick(now: now) }

    func loopWoke(late: UInt64, now: UInt64) { recorder.loopWoke(late: late, now: now) }
}

/// Open model: requests arrive on a fixed schedule (constant rate, or a linear ramp) whatever the server
/// does. Latency runs from each request's intended start, so a stalled server cannot hide its stall by
/// slowing the generator down (coordinated omission, corrected as wrk2 does); starts more than 1 ms late
/// are counted.
final class OpenSchedule: CurlLoadSchedule {
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

    func next(connection: Int, now: UInt64) -> CurlLoadDecision {
        guard issued < maxRequests, let due = arrival(issued) else { return .done }
        if due > now { return .pause(until: due) }
        issued += 1
        if now &- due > 1_000_000 { recorder.countLate() }
        return .send(picker.next(), intendedStart: due)
    }

    func completed(_ completion: CurlCompletion) { recorder.record(completion) }

    func tick(now: UInt64) { recorder.tick(now: now) }

    func loopWoke(late: UInt64, now: UInt64) { recorder.loopWoke(late: late, now: now) }
}

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

/// Barrier: every connection sends its own request exactly once, all at the same instant (when every loop has
/// opened its connections). Latency runs from that instant. Nothing is retried.
final class BarrierSchedule: CurlLoadSchedule {
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

    func next(connection: Int, now: UInt64) -> CurlLoadDecision {
        if sent[connection] { return .done }
        if fireAt == nil { fireAt = gate.fireAt }
        guard let fire = fireAt else { return .pause(until: now &+ 1_000_000) }
        if now < fire { return .pause(until: fire) }
        sent[connection] = true
        return .send(requests[connection], intendedStart: fire)
    }

    func completed(_ completion: CurlCompletion) { recorder?.record(completion) }

    func tick(now: UInt64) { recorder?.tick(now: now) }

    func loopWoke(late: UInt64, now: UInt64) { recorder?.loopWoke(late: late, now: now) }
}

/// The instant the scenario's load begins (monotonic nanoseconds): the first phase's start, or for a barrier the
/// moment every request leaves, after all connections are open. Faults are timed from it. Set once.
final class LoadStartSignal: Sendable {
    private let instant = Mutex<UInt64?>(nil)

    func set(monotonic: UInt64) { instant.withLock { if $0 == nil { $0 = monotonic } } }

    var monotonic: UInt64? { instant.withLock { $0 } }
}
