import Foundation
import HappeningSystem

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
