import Foundation
import HappeningLoad
import HappeningSystem
import Synchronization

/// Runs one phase on `threads` loop threads (one libcurl multi handle each), shows live progress, and
/// merges what the threads recorded.
struct PhaseRunner: Sendable {
    let renderer: RequestRenderer
    let threads: Int
    let stop: CurlStopFlag
    let progress: ProgressStyle
    /// Wall-clock start (µs since 1970) for the first phase, shared by cooperating processes (`--start-at`).
    let startAtMicros: Int64?
    /// Which load engine sends the requests.
    var engine: CurlLoadEngine = .curl
    /// Told when the load of a phase begins (a barrier's firing instant, otherwise the phase start).
    var loadStart: LoadStartSignal?
    /// Keep every request's sample (laned scenarios measure lanes over other lanes' windows).
    var keepsSamples = false
    /// Request instances already rendered (``prepare(_:users:)``), shared by the copies of this runner.
    let rendered = RenderedInstances()
    /// The event (lowercase id) and field that watched answers are read for (staleness), as bytes.
    var watch: (id: [UInt8], field: [UInt8])?
    /// Receives each loop's lag and run-queue wait per second (the generator check).
    var monitor: GeneratorMonitor?

    /// Instances rendered per template for closed and open phases (drawn at random when sending).
    static let instancesPerTemplate = 1_024

    func run(_ phase: Scenario.Phase, timeoutOverride: Duration? = nil) async throws -> (PhaseResult, [Capture]) {
        let (run, captures) = try await run(phase, lane: "", notBefore: nil, timeoutOverride: timeoutOverride)
        return (run.result, captures)
    }

    /// Runs `phase` of `lane`, scheduled from `notBefore` (monotonic ns; nil: now, or `--start-at`), as the virtual users
    /// `users` (nil: every user; a barrier's connection i is user i of them).
    func run(_ phase: Scenario.Phase, lane: String, notBefore: UInt64?, users: Range<Int>? = nil,
             timeoutOverride: Duration? = nil) async throws -> (LanePhaseRun, [Capture]) {
        let chosen = templates(of: phase)
        let infos = renderer.infos
        let weights = chosen.map { infos[$0].weight }
        let threadCount = max(1, min(threads, phase.connections))
        let duration = phase.duration.flatMap(DurationText.parse)
        let maxRequests = phase.max_requests ?? Int.max
        let think = phase.think_time.flatMap(DurationText.parse).map { UInt64($0.nanoseconds) } ?? 0
        let rate = phase.rate.flatMap(RateSpec.init)

        // Per-connection requests for barrier and warm-up phases (connection i is virtual user i).
        var perConnection: [PreparedRequest] = []
        if phase.model == "barrier" || phase.model == "warmup" {
            var random = FastRandom(seed: 7)
            let picker = WeightedIndex(weights: weights)
            let first = users?.lowerBound ?? 0
            perConnection = (0..<phase.connections).map { renderer.render(chosen[picker.pick(&random)], user: first + $0, random: &random) }
        }

        var start = monotonicNanoseconds() &+ 50_000_000
        if let notBefore {
            // Exactly the lane's planned instant, even if this task got the CPU late: an open schedule then catches
            // up (and counts the late starts), so every lane keeps the run's clock.
            start = notBefore
        } else if let startAtMicros {
            let delta = startAtMicros - Int64(Date().timeIntervalSince1970 * 1_000_000)
            if delta > 0 { start = monotonicNanoseconds() &+ UInt64(delta) * 1_000 }
        }
        let clock = PhaseClock(monotonicStart: start)
        let feed = LiveFeed()
        var lanes: [(CurlLoadOptions, any CurlLoadSchedule, PhaseRecorder)] = []
        var offset = 0
        if phase.model != "barrier" && phase.model != "warmup" { loadStart?.set(monotonic: start) }
        let gate = BarrierGate(lanes: threadCount, notBefore: start, onFire: phase.model == "barrier" ? loadStart : nil)
        for lane in 0..<threadCount {
            let connections = phase.connections / threadCount + (lane < phase.connections % threadCount ? 1 : 0)
            var options = CurlLoadOptions(connections: connections)
            options.engine = engine
            if let timeoutOverride { options.requestTimeout = timeoutOverride }
            let recorder = PhaseRecorder(templates: infos, clock: clock, feed: feed)
            recorder.keepsSamples = keepsSamples
            recorder.watch = watch
            recorder.monitor = monitor
            let laneMax = maxRequests == Int.max ? Int.max : maxRequests / threadCount + (lane < maxRequests % threadCount ? 1 : 0)
            let deadline = duration.map { start &+ UInt64($0.nanoseconds) } ?? UInt64.max
            let schedule: any CurlLoadSchedule
            switch phase.model {
            case "closed":
                let picker = RequestPicker(instances: instances(chosen, lane: lane, users: users), weights: weights, seed: UInt64(lane + 11))
                schedule = ClosedSchedule(picker: picker, recorder: recorder, connections: connections, start: start, deadline: deadline, maxRequests: laneMax, thinkNanoseconds: think)
            case "open":
                let picker = RequestPicker(instances: instances(chosen, lane: lane, users: users), weights: weights, seed: UInt64(lane + 11))
                let share = RateSpec(from: rate!.from / Double(threadCount), to: rate!.to / Double(threadCount))
                let seconds = duration.map(\.seconds) ?? Double(maxRequests) / min(share.from, share.to) / Double(threadCount)
                schedule = OpenSchedule(picker: picker, recorder: recorder, start: start, durationSeconds: seconds, rate: share, maxRequests: laneMax)
            default:
                schedule = BarrierSchedule(requests: Array(perConnection[offset..<(offset + connections)]), recorder: recorder, gate: gate)
            }
            lanes.append((options, schedule, recorder))
            offset += connections
        }

        let display = Task { await LiveDisplay(phase: phase.name, feed: feed, clock: clock, style: progress).run() }
        let outcomes = try await withThrowingTaskGroup(of: CurlLoopStatistics.self) { group in
            for (options, schedule, recorder) in lanes {
                let job = LoopJob(options: options, origin: renderer.target, schedule: schedule, recorder: recorder, stop: stop)
                group.addTask { try await job.runOnOwnThread() }
            }
            var all: [CurlLoopStatistics] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        display.cancel()
        await display.value
        let recorders = lanes.map(\.2)
        var result = PhaseResult(phase: phase, recorders: recorders, feed: feed, clock: clock,
                                 abandoned: outcomes.reduce(0) { $0 + $1.abandoned })
        if !lane.isEmpty { result.lane = lane }
        let end = recorders.map(\.lastEnd).max().map { max($0, start) } ?? start
        let run = LanePhaseRun(lane: lane, result: result, clock: clock, samples: recorders.flatMap(\.samples), end: end,
                               shownReads: result.recorded ? recorders.flatMap(\.shownReads) : [])
        return (run, recorders.flatMap(\.captures))
    }
}

extension PhaseRunner {
    /// The templates a phase draws from (its `requests`, else all).
    func templates(of phase: Scenario.Phase) -> [Int] {
        phase.requests.map { names in names.compactMap { name in renderer.templates.firstIndex { $0.name == name } } }
            ?? Array(renderer.templates.indices)
    }

    /// Renders, before the run's clock starts, the request instances the open and closed phases will draw from, so a
    /// phase does not spend its first seconds rendering (10,000 virtual users × six templates took seconds, on the
    /// schedule's time: a backlog counted as the server's latency).
    func prepare(_ phase: Scenario.Phase, users: Range<Int>?) {
        guard phase.model == "open" || phase.model == "closed" else { return }
        let chosen = templates(of: phase)
        for lane in 0..<max(1, min(threads, phase.connections)) { _ = instances(chosen, lane: lane, users: users) }
    }

    /// A loop's instances of `chosen` for `users`: rendered once, then reused by every phase that draws the same.
    fileprivate func instances(_ chosen: [Int], lane: Int, users: Range<Int>?) -> [[PreparedRequest]] {
        let key = RenderedInstances.Key(chosen: chosen, lane: lane, users: users)
        if let found = rendered.get(key) { return found }
        let made = renderer.instances(of: chosen, count: Self.instancesPerTemplate, seed: UInt64(lane + 1), users: users)
        rendered.put(key, made)
        return made
    }
}

/// Rendered request instances by templates, loop and users (``PhaseRunner/prepare(_:users:)``).
final class RenderedInstances: Sendable {
    struct Key: Hashable, Sendable {
        var chosen: [Int]
        var lane: Int
        var users: Range<Int>?
    }

    private let store = Mutex([Key: [[PreparedRequest]]]())

    func get(_ key: Key) -> [[PreparedRequest]]? { store.withLock { $0[key] } }
    func put(_ key: Key, _ value: [[PreparedRequest]]) { store.withLock { $0[key] = value } }
}

/// One loop on a thread of its own (libcurl's calls block; they never run on Swift's cooperative pool).
///
/// `@unchecked Sendable`: the schedule and recorder are handed to the new thread and used only there until
/// it finishes; the caller reads the recorder only after awaiting the result.
private struct LoopJob: @unchecked Sendable {
    let options: CurlLoadOptions
    let origin: String
    let schedule: any CurlLoadSchedule
    let recorder: PhaseRecorder
    let stop: CurlStopFlag

    func runOnOwnThread() async throws -> CurlLoopStatistics {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    let statistics = options.engine == .raw
                        ? try CurlRawLoop.run(options: options, origin: origin, schedule: schedule, stop: stop)
                        : try CurlLoadLoop.run(options: options, schedule: schedule, stop: stop)
                    recorder.finish()
                    continuation.resume(returning: statistics)
                } catch {
                    recorder.finish()
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "happening-bench-loop"
            thread.start()
        }
    }
}
