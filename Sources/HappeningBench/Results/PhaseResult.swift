import Foundation
import HappeningLoad

/// What one phase measured, merged over threads (and, with `merge`, over processes). This is the JSON a
/// result file holds per phase; the histograms are exact, so merged files give exact percentiles.
struct PhaseResult: Codable, Sendable {
    var name: String
    /// The lane the phase (or window) belongs to, when the scenario has lanes.
    var lane: String? = nil
    /// The phase's ``LoadModel``, or `window` for a lane measured over another lane's window.
    var model: String
    var connections: Int
    var rate: String?
    var planned_duration: String?
    /// False for warm-up phases: shown, but not used for thresholds or headline figures.
    var recorded: Bool
    /// Wall-clock start, µs since 1970.
    var started_at_micros: Int64
    var elapsed_seconds: Double
    var requests: UInt64
    var requests_per_second: Double
    /// Responses with an unexpected status, plus transport errors.
    var errors: UInt64
    var error_rate: Double
    var statuses: [String: UInt64]
    /// Transport failures by kind (`timeout`, `connect`, `curl-<code>`).
    var transport_errors: [String: UInt64]
    /// Open model: requests that started more than 1 ms after their intended time.
    var late: UInt64
    /// In flight when the phase had to end (not counted in `requests`).
    var abandoned: Int
    var cache_hits: UInt64
    var cache_misses: UInt64
    /// Response body bytes received (absent in older results).
    var body_bytes: UInt64? = nil
    /// Answers by HTTP version ("1.1", "2"; the curl engine: absent for the raw one, which speaks HTTP/1.1 only).
    var http_versions: [String: UInt64]? = nil
    /// TCP connections the curl engine opened during the phase (with `--http2`, far fewer than `connections`).
    var connections_opened: UInt64? = nil
    /// When the phase's first and last request really left (wall clock, µs since 1970).
    var first_sent_micros: Int64? = nil
    var last_sent_micros: Int64? = nil
    /// Merged shards: how far apart the shards' first requests left (the latest first send minus the earliest), ms.
    var shard_start_skew_ms: Double? = nil
    /// The Bench's resident memory during the phase, per open connection (merged: the largest process's).
    var memory: MemoryReport? = nil
    var latency: LatencySummary
    var histogram: EncodedHistogram
    var templates: [TemplateResult]
    /// Latency by HTTP status, lowest status first (absent in older results and in lane windows).
    var status_latency: [StatusLatency]? = nil
    var timeline: [TimelinePoint]
    /// How many processes' results were merged into this one.
    var processes: Int = 1
    /// Whether the Bench itself was the bottleneck while this phase or window ran.
    var generator: GeneratorCheck? = nil
    /// A slow phase's clients: how many the target closed, and when (``SlowClients``).
    var slow_clients: SlowClientReport? = nil
    /// What the phase cost the target's CPU (``TargetCPU``; absent when no source was given).
    var target_cpu: TargetCPUReport? = nil

    struct TemplateResult: Codable, Sendable {
        var name: String
        var requests: UInt64
        var errors: UInt64
        var latency: LatencySummary
        var histogram: EncodedHistogram
        /// Answers with `X-Cache: HIT` and with another `X-Cache` value (absent in older results).
        var cache_hits: UInt64? = nil
        var cache_misses: UInt64? = nil

        /// Hits among the answers that carried `X-Cache`.
        var cacheHitRatio: Double? {
            let seen = (cache_hits ?? 0) + (cache_misses ?? 0)
            return seen == 0 ? nil : Double(cache_hits ?? 0) / Double(seen)
        }
    }

    /// The answers with one HTTP status and their latency: a flash sale's queued 202s and sold-out 422s apart.
    struct StatusLatency: Codable, Sendable {
        var status: String
        var requests: UInt64
        var latency: LatencySummary
        var histogram: EncodedHistogram

        init(status: String, histogram: LatencyHistogram) {
            self.status = status
            requests = histogram.count
            latency = histogram.summary
            self.histogram = histogram.encoded
        }

        /// The histograms of several statuses lists merged status by status, exactly.
        static func merged(_ lists: [[StatusLatency]]) -> [StatusLatency] {
            var byStatus: [String: LatencyHistogram] = [:]
            for list in lists {
                for entry in list { byStatus[entry.status, default: LatencyHistogram()].add(LatencyHistogram(entry.histogram)) }
            }
            return byStatus.sorted { $0.key < $1.key }.map { StatusLatency(status: $0.key, histogram: $0.value) }
        }
    }

    /// One second of the phase: throughput, errors and latency (after a merge, p50/p99 are the largest
    /// of the processes' values for that second; counts are exact sums).
    struct TimelinePoint: Codable, Sendable {
        var second: Int
        var requests: UInt64
        var errors: UInt64
        var p50_us: UInt64
        var p99_us: UInt64
        /// Answers with a 5xx status in that second, expected or not (absent in older results).
        var status_5xx: UInt64?
        /// Answers with `X-Cache: HIT`, and with another `X-Cache` value, in that second (absent in older results).
        var cache_hits: UInt64? = nil
        var cache_misses: UInt64? = nil
        /// The second route by route (absent in older results).
        var routes: [RoutePoint]? = nil
    }

    /// One route (request template) in one second of the timeline.
    struct RoutePoint: Codable, Sendable, Equatable {
        var name: String
        var requests: UInt64
        var errors: UInt64
        var p50_us: UInt64
        var p99_us: UInt64

        /// Two processes' routes of one second: counts add up; like the phase's seconds, the percentiles are the
        /// larger of the two (the per-second histograms are not kept).
        static func merged(_ a: [RoutePoint], _ b: [RoutePoint]) -> [RoutePoint] {
            var byName = Dictionary(a.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            for point in b {
                guard var mine = byName[point.name] else {
                    byName[point.name] = point
                    continue
                }
                mine.requests += point.requests
                mine.errors += point.errors
                mine.p50_us = max(mine.p50_us, point.p50_us)
                mine.p99_us = max(mine.p99_us, point.p99_us)
                byName[point.name] = mine
            }
            return byName.values.sorted { $0.name < $1.name }
        }
    }

    var cacheHitRatio: Double? {
        let seen = cache_hits + cache_misses
        return seen == 0 ? nil : Double(cache_hits) / Double(seen)
    }

    /// "HTTP/2 ×300 over 2 TCP connections": the answers' HTTP versions and the connections opened (curl engine).
    var protocolNote: String? {
        guard let versions = http_versions, !versions.isEmpty else { return nil }
        let answers = versions.sorted { $0.key < $1.key }.map { "HTTP/\($0.key) ×\(Format.grouped($0.value))" }.joined(separator: ", ")
        return answers + (connections_opened.map { " over \(Format.grouped($0)) TCP connections" } ?? "")
    }

    init(phase: Scenario.Phase, recorders: [PhaseRecorder], feed: LiveFeed, clock: PhaseClock, abandoned: Int) {
        name = phase.name
        model = phase.model.rawValue
        connections = phase.connections
        rate = phase.rate
        planned_duration = phase.duration
        recorded = (phase.record ?? true) && phase.model != .warmup
        started_at_micros = clock.wallStartMicros
        var latency = LatencyHistogram()
        var statuses: [String: UInt64] = [:]
        var transport: [String: UInt64] = [:]
        var templateLatency = Array(repeating: LatencyHistogram(), count: recorders.first?.templates.count ?? 0)
        var templateRequests = Array(repeating: UInt64(0), count: templateLatency.count)
        var templateErrors = Array(repeating: UInt64(0), count: templateLatency.count)
        var templateHits = Array(repeating: UInt64(0), count: templateLatency.count)
        var templateMisses = Array(repeating: UInt64(0), count: templateLatency.count)
        (requests, errors, late, cache_hits, cache_misses) = (0, 0, 0, 0, 0)
        var lastEnd: UInt64 = clock.monotonicStart
        var (firstSent, lastSent): (UInt64, UInt64) = (.max, 0)
        var statusLatency: [Int: LatencyHistogram] = [:]
        for recorder in recorders {
            for (status, histogram) in recorder.statusLatency { statusLatency[status, default: LatencyHistogram()].add(histogram) }
            latency.add(recorder.latency)
            requests += recorder.requests
            errors += recorder.unexpected
            late += recorder.late
            cache_hits += recorder.cacheHits
            cache_misses += recorder.cacheMisses
            body_bytes = (body_bytes ?? 0) + recorder.bodyBytes
            for (version, count) in recorder.httpVersions { http_versions = (http_versions ?? [:]).merging([version.rawValue: count], uniquingKeysWith: +) }
            if recorder.httpVersions.count > 0 || recorder.connectionsOpened > 0 { connections_opened = (connections_opened ?? 0) + recorder.connectionsOpened }
            lastEnd = max(lastEnd, recorder.lastEnd)
            (firstSent, lastSent) = (min(firstSent, recorder.firstSent), max(lastSent, recorder.lastSent))
            for (status, count) in recorder.statuses { statuses[String(status), default: 0] += count }
            for (code, count) in recorder.transportErrors { transport[Self.transportName(code), default: 0] += count }
            for index in templateLatency.indices {
                templateLatency[index].add(recorder.templateLatency[index])
                templateRequests[index] += recorder.templateRequests[index]
                templateErrors[index] += recorder.templateUnexpected[index]
                templateHits[index] += recorder.templateCacheHits[index]
                templateMisses[index] += recorder.templateCacheMisses[index]
            }
        }
        self.abandoned = abandoned
        if firstSent <= lastSent { (first_sent_micros, last_sent_micros) = (clock.wallMicros(firstSent), clock.wallMicros(lastSent)) }
        self.statuses = statuses
        transport_errors = transport
        elapsed_seconds = (Double(lastEnd &- clock.monotonicStart) / 1e6).rounded() / 1e3
        requests_per_second = elapsed_seconds > 0 ? (Double(requests) / elapsed_seconds * 10).rounded() / 10 : 0
        error_rate = requests == 0 ? 0 : Double(errors) / Double(requests)
        self.latency = latency.summary
        histogram = latency.encoded
        let infos = recorders.first?.templates ?? []
        templates = templateLatency.indices.compactMap { index in
            templateRequests[index] == 0
                ? nil
                : TemplateResult(
                    name: infos[index].name, requests: templateRequests[index], errors: templateErrors[index],
                    latency: templateLatency[index].summary, histogram: templateLatency[index].encoded,
                    cache_hits: templateHits[index], cache_misses: templateMisses[index])
        }
        status_latency = statusLatency.sorted { $0.key < $1.key }.map { StatusLatency(status: String($0.key), histogram: $0.value) }
        timeline = feed.timeline().map { second, bucket in
            TimelinePoint(
                second: second, requests: bucket.requests, errors: bucket.errors,
                p50_us: bucket.latency.percentile(50), p99_us: bucket.latency.percentile(99), status_5xx: bucket.status5xx,
                cache_hits: bucket.cacheHits, cache_misses: bucket.cacheMisses, routes: bucket.routePoints(infos))
        }
    }

    static func transportName(_ code: Int32) -> String {
        switch code {
        case 28: return "timeout"
        case 7: return "connect"
        case 52: return "empty-reply"
        case 55, 56: return "connection-reset"
        default: return "curl-\(code)"
        }
    }

    /// Combines the same phase from several processes: counts add up, histograms merge exactly.
    mutating func merge(_ other: PhaseResult) {
        var latency = LatencyHistogram(histogram)
        latency.add(LatencyHistogram(other.histogram))
        let start = min(started_at_micros, other.started_at_micros)
        let end = max(Double(started_at_micros) / 1e6 + elapsed_seconds, Double(other.started_at_micros) / 1e6 + other.elapsed_seconds)
        started_at_micros = start
        elapsed_seconds = ((end - Double(start) / 1e6) * 1000).rounded() / 1000
        connections += other.connections
        requests += other.requests
        errors += other.errors
        late += other.late
        abandoned += other.abandoned
        cache_hits += other.cache_hits
        cache_misses += other.cache_misses
        if body_bytes != nil || other.body_bytes != nil { body_bytes = (body_bytes ?? 0) + (other.body_bytes ?? 0) }
        if let theirs = other.http_versions { http_versions = (http_versions ?? [:]).merging(theirs, uniquingKeysWith: +) }
        if other.connections_opened != nil { connections_opened = (connections_opened ?? 0) + (other.connections_opened ?? 0) }
        if let theirs = other.first_sent_micros { first_sent_micros = min(first_sent_micros ?? theirs, theirs) }
        if let theirs = other.memory, theirs.peak_per_connection_bytes > memory?.peak_per_connection_bytes ?? 0 { memory = theirs }
        if let theirs = other.last_sent_micros { last_sent_micros = max(last_sent_micros ?? theirs, theirs) }
        processes += other.processes
        for (key, value) in other.statuses { statuses[key, default: 0] += value }
        if status_latency != nil || other.status_latency != nil {
            status_latency = StatusLatency.merged([status_latency ?? [], other.status_latency ?? []])
        }
        for (key, value) in other.transport_errors { transport_errors[key, default: 0] += value }
        requests_per_second = elapsed_seconds > 0 ? (Double(requests) / elapsed_seconds * 10).rounded() / 10 : 0
        error_rate = requests == 0 ? 0 : Double(errors) / Double(requests)
        self.latency = latency.summary
        histogram = latency.encoded
        for theirs in other.templates {
            if let index = templates.firstIndex(where: { $0.name == theirs.name }) {
                var merged = LatencyHistogram(templates[index].histogram)
                merged.add(LatencyHistogram(theirs.histogram))
                templates[index].requests += theirs.requests
                templates[index].errors += theirs.errors
                if theirs.cache_hits != nil || theirs.cache_misses != nil {
                    templates[index].cache_hits = (templates[index].cache_hits ?? 0) + (theirs.cache_hits ?? 0)
                    templates[index].cache_misses = (templates[index].cache_misses ?? 0) + (theirs.cache_misses ?? 0)
                }
                templates[index].latency = merged.summary
                templates[index].histogram = merged.encoded
            } else {
                templates.append(theirs)
            }
        }
        var seconds: [Int: TimelinePoint] = Dictionary(uniqueKeysWithValues: timeline.map { ($0.second, $0) })
        for point in other.timeline {
            if var mine = seconds[point.second] {
                mine.requests += point.requests
                mine.errors += point.errors
                mine.status_5xx = (mine.status_5xx ?? 0) + (point.status_5xx ?? 0)
                if point.cache_hits != nil || point.cache_misses != nil {
                    mine.cache_hits = (mine.cache_hits ?? 0) + (point.cache_hits ?? 0)
                    mine.cache_misses = (mine.cache_misses ?? 0) + (point.cache_misses ?? 0)
                }
                mine.p50_us = max(mine.p50_us, point.p50_us)
                mine.p99_us = max(mine.p99_us, point.p99_us)
                if let theirs = point.routes { mine.routes = RoutePoint.merged(mine.routes ?? [], theirs) }
                seconds[point.second] = mine
            } else {
                seconds[point.second] = point
            }
        }
        timeline = seconds.values.sorted { $0.second < $1.second }
    }
}
