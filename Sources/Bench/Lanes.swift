import Foundation
import HappeningSystem

extension Scenario {
    /// A lane: a sequence of phases with its own request mix, started `start` after the run begins. All lanes of a
    /// scenario run at once, on one run clock; faults and thresholds see the whole run.
    struct Lane: Codable, Sendable {
        var name: String
        /// Offset from the start of the run (`10s`); default 0.
        var start: String?
        /// The request templates this lane sends (default: all); a phase's own `requests` narrows it further.
        var requests: [String]?
        /// How many virtual users this lane has: lanes that say so get their own consecutive users from the token
        /// file, in the order the lanes are declared, so no two lanes share one. A lane without it uses every user.
        var users: Int?
        var phases: [Phase]
    }

    /// What runs: the `lanes`, or the top-level `phases` as one unnamed lane.
    var runLanes: [Lane] { lanes ?? [Lane(name: "", start: nil, requests: nil, users: nil, phases: phases ?? [])] }

    /// Each lane's virtual users (indices into the loaded users): the lanes with `users:` take disjoint consecutive
    /// ranges in declaration order; the others get nil (every user). Throws when there are not enough users.
    func laneUsers(available: Int) throws -> [Range<Int>?] {
        var next = 0
        return try runLanes.map { lane in
            guard let count = lane.users else { return nil }
            guard next + count <= available else {
                throw UsageError("lane \(lane.name): needs users \(next)…\(next + count - 1), but the token file has \(available) users")
            }
            defer { next += count }
            return next..<(next + count)
        }
    }

    /// Whether the scenario names its lanes (then every lane and window is reported on its own).
    var hasLanes: Bool { lanes != nil }

    /// Lane rules: a lane needs a name and a phase, a start that parses, known templates; no name (lane or phase)
    /// twice, since `lane@phase` names a window.
    func validateLanes() throws {
        guard let lanes else {
            guard let phases, !phases.isEmpty else { throw UsageError("a scenario needs at least one phase (or lanes: with phases)") }
            return
        }
        guard phases == nil else { throw UsageError("a scenario has either phases or lanes, not both") }
        guard !lanes.isEmpty else { throw UsageError("lanes: needs at least one lane") }
        let templates = Set(requests.map(\.name))
        var names = Set<String>()
        for lane in lanes {
            guard !lane.name.isEmpty, !lane.name.contains("@"), !lane.name.contains(".") else {
                throw UsageError("lane '\(lane.name)': a lane needs a name without '@' or '.'")
            }
            guard !lane.phases.isEmpty else { throw UsageError("lane \(lane.name): needs at least one phase") }
            if let users = lane.users {
                guard users >= 1 else { throw UsageError("lane \(lane.name): users must be at least 1") }
                for phase in lane.phases where phase.model == .barrier && phase.connections > users {
                    throw UsageError("lane \(lane.name): phase \(phase.name) has \(phase.connections) barrier users but the lane has \(users)")
                }
            }
            if let start = lane.start, DurationText.parse(start) == nil {
                throw UsageError("lane \(lane.name): start '\(start)' is not a duration (like 500ms, 10s)")
            }
            for name in lane.requests ?? [] where !templates.contains(name) {
                throw UsageError("lane \(lane.name): no request template named \(name)")
            }
            for name in [lane.name] + lane.phases.map(\.name) {
                guard names.insert(name).inserted else { throw UsageError("the name '\(name)' is used twice (lanes and phases need their own names)") }
            }
        }
    }
}

/// One answered request, kept so that a lane can be measured over any window of the run afterwards.
struct RequestSample: Sendable {
    /// Monotonic nanoseconds of the intended start (the schedule's time, coordinated-omission corrected).
    var start: UInt64
    var latencyNanoseconds: UInt64
    var template: UInt16
    /// HTTP status, 0 when the transfer failed.
    var status: UInt16
    /// libcurl's error code when the transfer failed.
    var curlError: Int16
    var flags: Flags

    struct Flags: OptionSet, Sendable {
        let rawValue: UInt8
        static let unexpected = Flags(rawValue: 1)
        static let cacheHit = Flags(rawValue: 2)
        static let cacheMiss = Flags(rawValue: 4)
        /// Started more than 1 ms after it was due (open model).
        static let late = Flags(rawValue: 8)
    }
}

/// A lane's phase as it ran: its result, its clock and every request it answered.
struct LanePhaseRun: Sendable {
    var lane: String
    var result: PhaseResult
    var clock: PhaseClock
    var samples: [RequestSample]
    /// Monotonic nanoseconds when the phase ended (its last answer).
    var end: UInt64
    /// Answers that showed the watched event's availability (staleness).
    var shownReads: [ShownRead] = []
    /// Every answer to a booking request (the sale's history).
    var bookingAnswers: [BookingAnswer] = []
    /// What watched answers showed of every event they carried (the history's tickets-left check).
    var eventReads = EventReads()
}

/// Builds the reported views of a laned run: each lane over the whole run (`browse`), and before, during and after
/// every other lane's phase (`browse@before-sale`, `browse@sale`: the lane's requests that were due while `sale`
/// ran, `browse@after-sale`).
enum LaneWindows {
    static func views(of runs: [LanePhaseRun], templates: [TemplateInfo]) -> [PhaseResult] {
        let lanes = runs.reduce(into: [String]()) { if !$0.contains($1.lane) { $0.append($1.lane) } }
        var views: [PhaseResult] = []
        for lane in lanes {
            let own = runs.filter { $0.lane == lane && $0.result.recorded }
            guard let first = own.first else { continue }
            let samples = own.flatMap(\.samples)
            views.append(
                PhaseResult(
                    window: lane, lane: lane, samples: samples, templates: templates,
                    from: first.clock.monotonicStart, to: own.map(\.end).max() ?? first.end, clock: first.clock))
            let laneEnd = own.map(\.end).max() ?? first.end
            for other in runs where other.lane != lane && other.result.recorded {
                let (from, to) = (other.clock.monotonicStart, other.end)
                if from > first.clock.monotonicStart {
                    views.append(
                        PhaseResult(
                            window: "\(lane)@before-\(other.result.name)", lane: lane, samples: samples, templates: templates,
                            from: first.clock.monotonicStart, to: from - 1, clock: first.clock))
                }
                views.append(
                    PhaseResult(
                        window: "\(lane)@\(other.result.name)", lane: lane, samples: samples, templates: templates,
                        from: from, to: to, clock: other.clock))
                if to < laneEnd {
                    views.append(
                        PhaseResult(
                            window: "\(lane)@after-\(other.result.name)", lane: lane, samples: samples, templates: templates,
                            from: to + 1, to: laneEnd, clock: PhaseClock(monotonicStart: to + 1)))
                }
            }
        }
        return views
    }
}

extension PhaseResult {
    /// The requests of `samples` that were due in [`from`, `to`] (monotonic ns), summarised like a phase.
    /// `rps` divides by the window's length; the timeline counts seconds from `from`.
    init(window name: String, lane: String, samples: [RequestSample], templates infos: [TemplateInfo], from: UInt64, to: UInt64, clock: PhaseClock) {
        self.name = name
        self.lane = lane
        model = "window"
        connections = 0
        recorded = true
        started_at_micros = clock.wallMicros(from)
        elapsed_seconds = (Double(to &- from) / 1e6).rounded() / 1e3
        var latency = LatencyHistogram()
        var perTemplate = Array(repeating: LatencyHistogram(), count: infos.count)
        var templateRequests = Array(repeating: UInt64(0), count: infos.count)
        var templateErrors = Array(repeating: UInt64(0), count: infos.count)
        var templateHits = Array(repeating: UInt64(0), count: infos.count)
        var templateMisses = Array(repeating: UInt64(0), count: infos.count)
        var statuses: [String: UInt64] = [:]
        var transport: [String: UInt64] = [:]
        var seconds: [Int: SecondBucket] = [:]
        (requests, errors, late, cache_hits, cache_misses, abandoned) = (0, 0, 0, 0, 0, 0)
        for sample in samples where sample.start >= from && sample.start <= to {
            requests += 1
            latency.record(nanoseconds: sample.latencyNanoseconds)
            let template = Int(sample.template)
            if template < infos.count {
                perTemplate[template].record(nanoseconds: sample.latencyNanoseconds)
                templateRequests[template] += 1
            }
            let second = Int((sample.start - from) / 1_000_000_000)
            seconds[second, default: SecondBucket()].routes[template, default: RouteSecond()].record(
                nanoseconds: sample.latencyNanoseconds, failed: sample.flags.contains(.unexpected))
            seconds[second, default: SecondBucket()].requests += 1
            seconds[second, default: SecondBucket()].latency.record(nanoseconds: sample.latencyNanoseconds)
            if sample.status == 0 {
                transport[Self.transportName(Int32(sample.curlError)), default: 0] += 1
            } else {
                statuses[String(sample.status), default: 0] += 1
            }
            if sample.status >= 500 { seconds[second, default: SecondBucket()].status5xx += 1 }
            if sample.flags.contains(.unexpected) {
                errors += 1
                if template < infos.count { templateErrors[template] += 1 }
                seconds[second, default: SecondBucket()].errors += 1
            }
            if sample.flags.contains(.cacheHit) {
                cache_hits += 1
                seconds[second, default: SecondBucket()].cacheHits += 1
                if template < infos.count { templateHits[template] += 1 }
            }
            if sample.flags.contains(.cacheMiss) {
                cache_misses += 1
                seconds[second, default: SecondBucket()].cacheMisses += 1
                if template < infos.count { templateMisses[template] += 1 }
            }
            if sample.flags.contains(.late) { late += 1 }
        }
        self.statuses = statuses
        transport_errors = transport
        requests_per_second = elapsed_seconds > 0 ? (Double(requests) / elapsed_seconds * 10).rounded() / 10 : 0
        error_rate = requests == 0 ? 0 : Double(errors) / Double(requests)
        self.latency = latency.summary
        histogram = latency.encoded
        templates = infos.indices.compactMap { index in
            templateRequests[index] == 0
                ? nil
                : TemplateResult(
                    name: infos[index].name, requests: templateRequests[index], errors: templateErrors[index],
                    latency: perTemplate[index].summary, histogram: perTemplate[index].encoded,
                    cache_hits: templateHits[index], cache_misses: templateMisses[index])
        }
        timeline = seconds.sorted { $0.key < $1.key }.map { second, bucket in
            TimelinePoint(
                second: second, requests: bucket.requests, errors: bucket.errors,
                p50_us: bucket.latency.percentile(50), p99_us: bucket.latency.percentile(99), status_5xx: bucket.status5xx,
                cache_hits: bucket.cacheHits, cache_misses: bucket.cacheMisses, routes: bucket.routePoints(infos))
        }
    }
}
