import Testing

@testable import HappeningBench
@testable import HappeningLoad

/// A decision as text, so expectations read like the schedule's answer.
private func said(_ decision: LoadDecision) -> String {
    switch decision {
    case .send(let request, let intended): "send \(request.url) at \(intended)"
    case .notYet(let until): "not yet, until \(until)"
    case .pause(let until): "pause until \(until)"
    case .done: "done"
    }
}

private func recorder() -> PhaseRecorder {
    PhaseRecorder(templates: [TemplateInfo(name: "a", weight: 1, expect: [])], clock: PhaseClock(monotonicStart: 0), feed: LiveFeed())
}

private func picker() -> RequestPicker { RequestPicker(instances: [[PreparedRequest(url: "/a")]], weights: [1], seed: 1) }

/// A finished transfer on `connection` that ended at `end`.
private func completion(connection: Int, end: UInt64) -> LoadCompletion {
    LoadCompletion(
        connection: connection, request: PreparedRequest(url: "/a"), intendedStart: end &- 1_000, actualStart: end &- 1_000, end: end, status: 200,
        curlError: nil, bodyBytes: 0, cacheHit: nil, body: nil)
}

private let ms: UInt64 = 1_000_000

/// The load models as pure schedules (no sockets): what each answers a loop at a given instant, the barrier's meeting
/// point, and the loop's own bookkeeping of idle, in-flight and finished connections.
@Suite("Bench: schedules, the barrier and the loop's progress", .timeLimit(.minutes(10)))
struct ScheduleTests {
    @Test("closed: waits for the start, sends at once after an answer (after the think time), stops at the cap or the deadline")
    func closed() {
        let schedule = ClosedSchedule(
            picker: picker(), recorder: recorder(), connections: 2, start: 100 * ms, deadline: 200 * ms, maxRequests: 3, thinkNanoseconds: 10 * ms)
        #expect(said(schedule.next(connection: 0, now: 50 * ms)) == "pause until \(100 * ms)")
        #expect(said(schedule.next(connection: 0, now: 100 * ms)) == "send /a at \(100 * ms)")
        schedule.completed(completion(connection: 0, end: 120 * ms))
        #expect(said(schedule.next(connection: 0, now: 125 * ms)) == "not yet, until \(130 * ms)", "the think time after the answer")
        #expect(said(schedule.next(connection: 1, now: 125 * ms)) == "send /a at \(125 * ms)", "the other connection has no think time pending")
        #expect(said(schedule.next(connection: 0, now: 130 * ms)) == "send /a at \(130 * ms)")
        #expect(said(schedule.next(connection: 1, now: 190 * ms)) == "done", "three requests: the cap")
        let timed = ClosedSchedule(
            picker: picker(), recorder: recorder(), connections: 1, start: 0, deadline: 200 * ms, maxRequests: .max, thinkNanoseconds: 0)
        #expect(said(timed.next(connection: 0, now: 199 * ms)) == "send /a at \(199 * ms)")
        #expect(said(timed.next(connection: 0, now: 200 * ms)) == "done", "the deadline")
    }

    @Test("open, constant rate: arrivals k / r from the start whatever the loop does; a start over 1 ms late is counted; none past the length")
    func openConstant() {
        let recording = recorder()
        let schedule = OpenSchedule(
            picker: picker(), recorder: recording, start: 1_000 * ms, durationSeconds: 1, rate: RateSpec(from: 10, to: 10), maxRequests: .max)
        #expect(said(schedule.next(connection: 0, now: 900 * ms)) == "pause until \(1_000 * ms)")
        #expect(said(schedule.next(connection: 0, now: 1_000 * ms)) == "send /a at \(1_000 * ms)")
        #expect(said(schedule.next(connection: 0, now: 1_050 * ms)) == "pause until \(1_100 * ms)")
        // The loop comes back late: the request keeps its intended start (coordinated omission corrected).
        #expect(said(schedule.next(connection: 1, now: 1_100 * ms + 500_000)) == "send /a at \(1_100 * ms)")
        #expect(recording.late == 0, "half a millisecond late is on time")
        #expect(said(schedule.next(connection: 1, now: 1_205 * ms)) == "send /a at \(1_200 * ms)")
        #expect(recording.late == 1)
        var sent = 3
        while case .send = schedule.next(connection: 0, now: 5_000 * ms) { sent += 1 }
        #expect(sent == 10, "ten arrivals in one second at 10/s")
        #expect(said(schedule.next(connection: 0, now: 5_000 * ms)) == "done")
    }

    @Test("open, ramp: the k-th arrival is where the rate's integral reaches k (0 → 20/s over 1 s: at √(k/10) s, ten in all); the cap stops it")
    func openRamp() {
        let schedule = OpenSchedule(picker: picker(), recorder: recorder(), start: 0, durationSeconds: 1, rate: RateSpec(from: 0, to: 20), maxRequests: .max)
        var intended: [UInt64] = []
        while case .send(_, let at) = schedule.next(connection: 0, now: 10_000 * ms) { intended.append(at) }
        #expect(intended.count == 10)
        for (k, at) in intended.enumerated() {
            let expected = (Double(k) / 10).squareRoot() * 1e9
            #expect(abs(Double(at) - expected) < 1_000, "arrival \(k): \(at) ns, expected \(expected)")
        }
        let capped = OpenSchedule(picker: picker(), recorder: recorder(), start: 0, durationSeconds: 1, rate: RateSpec(from: 100, to: 100), maxRequests: 2)
        #expect(said(capped.next(connection: 0, now: 0)) == "send /a at 0")
        #expect(said(capped.next(connection: 0, now: 10 * ms)) == "send /a at \(10 * ms)")
        #expect(said(capped.next(connection: 0, now: 20 * ms)) == "done")
    }

    @Test(
        "the barrier fires 5 ms after the last loop is ready (never before the planned start), tells the load's start once, and each connection sends once at that instant"
    )
    func barrier() {
        let signal = LoadStartSignal()
        let gate = BarrierGate(lanes: 2, notBefore: 0, onFire: signal)
        let requests = [PreparedRequest(url: "/0"), PreparedRequest(url: "/1")]
        let schedule = BarrierSchedule(requests: requests, recorder: nil, gate: gate)
        schedule.loopReady(now: 100 * ms)
        #expect(gate.fireAt == nil && signal.monotonic == nil, "one loop of two is ready")
        #expect(said(schedule.next(connection: 0, now: 101 * ms)) == "pause until \(102 * ms)", "asks again in a millisecond")
        gate.arrive(now: 300 * ms)
        #expect(gate.fireAt == 305 * ms && signal.monotonic == 305 * ms)
        #expect(said(schedule.next(connection: 0, now: 301 * ms)) == "pause until \(305 * ms)")
        #expect(said(schedule.next(connection: 1, now: 306 * ms)) == "send /1 at \(305 * ms)", "latency runs from the firing instant")
        #expect(said(schedule.next(connection: 0, now: 306 * ms)) == "send /0 at \(305 * ms)")
        #expect(said(schedule.next(connection: 0, now: 400 * ms)) == "done" && said(schedule.next(connection: 1, now: 400 * ms)) == "done")

        let planned = BarrierGate(lanes: 1, notBefore: 1_000 * ms)
        planned.arrive(now: 300 * ms)
        #expect(planned.fireAt == 1_000 * ms, "--start-at: not before the planned start")
    }

    /// Sends once per connection, then is done; remembers what it was asked.
    private final class OnceEach: LoadSchedule {
        var asked: [Int] = []
        private var sent: Set<Int> = []
        func next(connection: Int, now: UInt64) -> LoadDecision {
            asked.append(connection)
            return sent.insert(connection).inserted ? .send(PreparedRequest(url: "/\(connection)"), intendedStart: now) : .done
        }
        func completed(_ completion: LoadCompletion) {}
        func tick(now: UInt64) {}
    }

    @Test(
        "the loop's progress: idle connections are asked, a send puts them in flight, an answer makes them idle, the loop ends when all are done and none in flight"
    )
    func loopProgress() {
        let schedule = OnceEach()
        var progress = LoopProgress(connections: 2, drainTimeout: .milliseconds(50))
        var started: [Int] = []
        _ = progress.startIdle(now: 0, stopped: false, schedule: schedule) { connection, _, _ in
            started.append(connection)
            return true
        }
        #expect(started == [0, 1] && progress.inFlight == 2 && !progress.hasIdle)
        progress.ended(connection: 0)
        #expect(progress.inFlight == 1 && progress.hasIdle)
        _ = progress.startIdle(now: ms, stopped: false, schedule: schedule) { _, _, _ in true }
        let overWhileInFlight = progress.isOver(now: ms, stopped: false)
        #expect(!overWhileInFlight, "connection 1 is still in flight")
        progress.ended(connection: 1)
        _ = progress.startIdle(now: 2 * ms, stopped: false, schedule: schedule) { _, _, _ in true }
        let over = progress.isOver(now: 2 * ms, stopped: false)
        #expect(over && progress.statistics.abandoned == 0)
    }

    @Test("the loop's progress: a stop abandons what is in flight at once and finishes the idle; the schedule is ticked once a millisecond")
    func stopAndTicks() {
        let schedule = OnceEach()
        var progress = LoopProgress(connections: 2, drainTimeout: .seconds(10))
        _ = progress.startIdle(now: 0, stopped: false, schedule: schedule) { connection, _, _ in connection == 0 }  // 1 could not start
        #expect(progress.inFlight == 1 && progress.hasIdle)
        _ = progress.startIdle(now: ms, stopped: true, schedule: schedule) { _, _, _ in true }
        #expect(!progress.hasIdle, "stopped: the idle connection is finished, not asked")
        let stoppedOver = progress.isOver(now: ms, stopped: true)
        #expect(stoppedOver && progress.statistics.abandoned == 1)

        final class Ticks: LoadSchedule {
            var ticks: [UInt64] = []
            func next(connection: Int, now: UInt64) -> LoadDecision { .done }
            func completed(_ completion: LoadCompletion) {}
            func tick(now: UInt64) { ticks.append(now) }
        }
        let ticks = Ticks()
        var loop = LoopProgress(connections: 1, drainTimeout: .seconds(1))
        for now in stride(from: 0 as UInt64, through: 3 * ms, by: 250_000) { loop.iterate(now: now, schedule: ticks) }
        #expect(ticks.ticks == [ms, 2 * ms, 3 * ms] && loop.statistics.iterations == 13)
    }
}
