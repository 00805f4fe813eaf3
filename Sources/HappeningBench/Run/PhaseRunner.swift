import Foundation
import HappeningHTTP
import HappeningLoad
import HappeningSystem
import Synchronization

/// Runs one phase on `threads` loop threads (one event loop each, on the engine the settings name), shows live progress, and
/// merges what the threads recorded.
struct PhaseRunner: Sendable {
    let renderer: RequestRenderer
    /// Threads, engine, TLS, HTTP/2, `--start-at`, the shard and the progress style.
    let settings: RunSettings
    let stop: StopFlag
    /// Told when the load of a phase begins (a barrier's firing instant, otherwise the phase start).
    var loadStart: LoadStartSignal?
    /// Keep every request's sample (laned scenarios measure lanes over other lanes' windows).
    var keepsSamples = false
    /// Request instances already rendered (``prepare(_:users:)``), shared by the copies of this runner.
    let rendered = RenderedInstances()
    /// The event (lowercase id) and field that watched answers are read for (staleness), as bytes.
    var watch: (id: [UInt8], field: [UInt8])?
    /// The field watched answers are read for in every event they carry (the history's check), as bytes.
    var everyEvent: [UInt8]?
    /// Receives each loop's lag and run-queue wait per second (the generator check).
    var monitor: GeneratorMonitor?
    /// Where each finished second goes while the phase runs (`--prometheus-remote-write`).
    var metrics: RemoteWriteStream?

    init(renderer: RequestRenderer, settings: RunSettings, stop: StopFlag) {
        (self.renderer, self.settings, self.stop) = (renderer, settings, stop)
    }

    /// Instances rendered per template for closed and open phases (drawn at random when sending).
    static let instancesPerTemplate = 1_024

    func run(_ phase: Scenario.Phase, timeoutOverride: Duration? = nil) async throws -> (PhaseResult, [Capture]) {
        let (run, captures) = try await run(phase, lane: "", notBefore: nil, timeoutOverride: timeoutOverride)
        return (run.result, captures)
    }

    /// Who a barrier phase's connections are when its requests name captured values: connection i is `users[i]`,
    /// rendered with what that user captured.
    struct CapturingUsers: Sendable {
        var users: [Int]
        var captured: CapturedValues
    }

    /// Runs `phase` of `lane`, scheduled from `notBefore` (monotonic ns; nil: now, or `--start-at`), as the virtual users
    /// `users` (nil: every user; a barrier's connection i is user i of them, or `capturing.users[i]`).
    func run(
        _ phase: Scenario.Phase, lane: String, notBefore: UInt64?, users: Range<Int>? = nil, capturing: CapturingUsers? = nil,
        timeoutOverride: Duration? = nil
    ) async throws -> (LanePhaseRun, [Capture]) {
        let start = plannedStart(notBefore: notBefore)
        if phase.model == .slow { return (await runSlow(phase, lane: lane, start: start, users: users), []) }
        let clock = PhaseClock(monotonicStart: start)
        let feed = LiveFeed()
        if phase.model.isTimed { loadStart?.set(monotonic: start) }
        let memory = MemoryWatch()
        let loops = makeLoops(
            phase, users: users, capturing: capturing, start: start, clock: clock, feed: feed, timeoutOverride: timeoutOverride, memory: memory)
        let watching = Task { await memory.run() }

        let display = Task { await LiveDisplay(phase: phase.name, feed: feed, clock: clock, style: settings.progress).run() }
        let streaming = metrics.map { stream in
            Task { [routes = renderer.infos.map(\.name)] in
                var series = PhaseSeries(phase: phase.name, lane: lane, routes: routes, clock: clock)
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(250))
                    series.emitFinal(from: feed, to: stream)
                }
                return series
            }
        }
        let outcomes = try await withThrowingTaskGroup(of: LoopStatistics.self) { group in
            for loop in loops { group.addTask { try await loop.runOnOwnThread() } }
            var all: [LoopStatistics] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        display.cancel()
        await display.value
        watching.cancel()
        await watching.value
        let recorders = loops.map(\.recorder)
        var result = PhaseResult(
            phase: phase, recorders: recorders, feed: feed, clock: clock,
            abandoned: outcomes.reduce(0) { $0 + $1.abandoned })
        if !lane.isEmpty { result.lane = lane }
        result.memory = memory.report(connections: phase.connections)
        let end = recorders.map(\.lastEnd).max().map { max($0, start) } ?? start
        if let streaming, let metrics {
            streaming.cancel()
            var series = await streaming.value
            series.emitRest(from: feed, to: metrics, endedAtMillis: clock.wallMicros(end) / 1_000)
        }
        var run = LanePhaseRun(
            lane: lane, result: result, clock: clock, samples: recorders.flatMap(\.samples), end: end,
            shownReads: result.recorded ? recorders.flatMap(\.shownReads) : [], bookingAnswers: result.recorded ? recorders.flatMap(\.bookingAnswers) : [])
        if result.recorded { for recorder in recorders { run.eventReads.merge(recorder.eventReads) } }
        return (run, recorders.flatMap(\.captures))
    }

    /// When the phase starts (monotonic ns): exactly the lane's planned instant when there is one, even if this task
    /// got the CPU late (an open schedule then catches up and counts the late starts, so every lane keeps the run's
    /// clock); else `--start-at`, or 50 ms from now.
    private func plannedStart(notBefore: UInt64?) -> UInt64 {
        notBefore ?? StartInstant.monotonic(wallMicros: settings.startAtMicros, otherwiseIn: 50_000_000)
    }

    /// One loop per thread, each with its share of the connections and requests and the schedule of the phase's model.
    private func makeLoops(
        _ phase: Scenario.Phase, users: Range<Int>?, capturing: CapturingUsers?, start: UInt64, clock: PhaseClock, feed: LiveFeed,
        timeoutOverride: Duration?, memory: MemoryWatch
    ) -> [LoopJob] {
        let chosen = templates(of: phase)
        let infos = renderer.infos
        let weights = chosen.map { infos[$0].weight }
        let threadCount = max(1, min(settings.threads, phase.connections))
        let duration = phase.duration.flatMap(DurationText.parse)
        let maxRequests = phase.max_requests ?? Int.max
        let think = phase.think_time.flatMap(DurationText.parse).map { UInt64($0.nanoseconds) } ?? 0
        let deadline = duration.map { start &+ UInt64($0.nanoseconds) } ?? UInt64.max

        // Per-connection requests for barrier and warm-up phases (connection i is virtual user i).
        var perConnection: [PreparedRequest] = []
        if !phase.model.isTimed {
            var random = FastRandom(seed: 7)
            let picker = WeightedTable(weights: weights)
            let first = users?.lowerBound ?? 0
            perConnection = (0..<phase.connections).map { connection in
                let user = capturing?.users[connection] ?? first + connection
                return renderer.render(
                    chosen[picker.pick(using: &random)], user: user, random: &random, captured: capturing?.captured.values(of: user) ?? [:])
            }
        }
        let gate = BarrierGate(lanes: threadCount, notBefore: start, onFire: phase.model == .barrier ? loadStart : nil, memory: memory)
        var loops: [LoopJob] = []
        var offset = 0
        for lane in 0..<threadCount {
            let connections = Self.share(of: phase.connections, part: lane, parts: threadCount)
            var options = LoopOptions(connections: connections)
            options.engine = settings.engine
            options.tls = settings.tls
            options.http2 = settings.http2(target: renderer.target)
            if let timeoutOverride { options.requestTimeout = timeoutOverride }
            let recorder = PhaseRecorder(templates: infos, clock: clock, feed: feed)
            recorder.keepsSamples = keepsSamples
            recorder.watch = watch
            recorder.everyEvent = everyEvent
            recorder.monitor = monitor
            let laneMax = maxRequests == Int.max ? Int.max : Self.share(of: maxRequests, part: lane, parts: threadCount)
            let schedule: any LoadSchedule
            switch phase.model {
            case .closed:
                let picker = RequestPicker(instances: instances(chosen, lane: lane, users: users), weights: weights, seed: UInt64(lane + 11))
                schedule = ClosedSchedule(
                    picker: picker, recorder: recorder, connections: connections, start: start, deadline: deadline, maxRequests: laneMax,
                    thinkNanoseconds: think)
            case .open:
                let picker = RequestPicker(instances: instances(chosen, lane: lane, users: users), weights: weights, seed: UInt64(lane + 11))
                let whole = RateSpec(phase.rate ?? "")!  // validated when the scenario loaded
                let rate = settings.shard?.share(of: whole) ?? whole
                let share = RateSpec(from: rate.from / Double(threadCount), to: rate.to / Double(threadCount))
                let seconds = duration.map(\.seconds) ?? Double(maxRequests) / min(share.from, share.to) / Double(threadCount)
                schedule = OpenSchedule(picker: picker, recorder: recorder, start: start, durationSeconds: seconds, rate: share, maxRequests: laneMax)
            case .barrier, .warmup, .slow:  // a slow phase never gets here (``runSlow``)
                schedule = BarrierSchedule(requests: Array(perConnection[offset..<(offset + connections)]), recorder: recorder, gate: gate)
            }
            loops.append(LoopJob(options: options, origin: renderer.target, schedule: schedule, recorder: recorder, stop: stop))
            offset += connections
        }
        return loops
    }

    /// Part `part` of `total` split into `parts` as evenly as possible (the first ones take the remainder).
    static func share(of total: Int, part: Int, parts: Int) -> Int {
        total / parts + (part < total % parts ? 1 : 0)
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
        guard phase.model.isTimed else { return }
        let chosen = templates(of: phase)
        for lane in 0..<max(1, min(settings.threads, phase.connections)) { _ = instances(chosen, lane: lane, users: users) }
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

/// One loop on a thread of its own (libcurl's calls block; they never run on Swift's cooperative pool).
///
/// `@unchecked Sendable`: the schedule and recorder are handed to the new thread and used only there until
/// it finishes; the caller reads the recorder only after awaiting the result.
private struct LoopJob: @unchecked Sendable {
    let options: LoopOptions
    let origin: String
    let schedule: any LoadSchedule
    let recorder: PhaseRecorder
    let stop: StopFlag

    func runOnOwnThread() async throws -> LoopStatistics {
        try await onDedicatedThread(named: "happening-bench-loop") { [self] in
            defer { recorder.finish() }
            return Result {
                options.engine == .raw
                    ? try RawLoop.run(options: options, origin: origin, schedule: schedule, stop: stop)
                    : try CurlLoadLoop.run(options: options, schedule: schedule, stop: stop)
            }
        }.get()
    }
}
