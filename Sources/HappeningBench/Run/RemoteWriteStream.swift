import Foundation
import HappeningHTTP
import HappeningSystem
import PrometheusRemoteWrite
import Synchronization

/// Streams one run's figures to a Prometheus remote-write endpoint while the run goes (`--prometheus-remote-write`):
/// once a second, one write with the seconds the phases finished since (``PhaseSeries``) and the Bench's CPU time.
///
/// Every series carries `run_id`, `scenario`, `target` and `run` (the run's label: `run`, `run 2`, `cache-on` …).
/// Writes go one at a time, so each series' samples reach the receiver oldest first, as Prometheus requires. A write
/// that fails after the client's retries is dropped and counted (the run goes on); the report says so.
final class RemoteWriteStream: Sendable {
    let client: RemoteWriteClient
    let labels: [String: String]
    private let pending = Mutex<[[String: String]: [RemoteWriteSample]]>([:])
    private let tally = Mutex(RemoteWriteReport(url: ""))
    private let stopping = Atomic(false)

    init(client: RemoteWriteClient, labels: [String: String]) {
        self.client = client
        self.labels = labels
        tally.withLock { $0.url = client.displayURL }
    }

    /// Queues one sample of the series `name` with the run's labels and `extra`.
    func add(_ name: String, _ extra: [String: String] = [:], value: Double, atMillis: Int64) {
        var key = labels.merging(extra) { _, new in new }
        key["__name__"] = name
        pending.withLock { $0[key, default: []].append(RemoteWriteSample(value: value, timestampMillis: atMillis)) }
    }

    /// Writes what is queued every second, with the Bench's CPU seconds so far, until ``stop()``; then writes the
    /// rest and returns. (Cancelling the task gives up instead: what is queued then is lost.)
    func run() async {
        let http = CurlHTTPClient(maxConcurrentRequests: 1)
        var last = ContinuousClock.now
        while !stopping.load(ordering: .relaxed), !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(50))
            guard ContinuousClock.now - last >= .seconds(1) else { continue }
            last = ContinuousClock.now
            addCPU()
            await send(using: http)
        }
        addCPU()
        await send(using: http)
        await http.shutdown()
    }

    /// Ends ``run()`` after one last write (await the task running it).
    func stop() { stopping.store(true, ordering: .relaxed) }

    /// What was written and what was lost, so far.
    var report: RemoteWriteReport { tally.withLock { $0 } }

    private func addCPU() {
        add("happening_bench_cpu_seconds_total", value: ProcessCPU.seconds(), atMillis: Int64(Date().timeIntervalSince1970 * 1_000))
    }

    /// Takes every queued sample, as series.
    func drain() -> [RemoteWriteSeries] {
        pending.withLock { queued in
            defer { queued = [:] }
            return queued.map { RemoteWriteSeries(labels: $0.key, samples: $0.value) }
        }
    }

    private func send(using http: CurlHTTPClient) async {
        let batch = drain()
        guard !batch.isEmpty else { return }
        let samples = batch.reduce(0) { $0 + $1.samples.count }
        do {
            try await client.write(batch, using: http)
            tally.withLock {
                $0.writes += 1
                $0.samples += samples
            }
        } catch {
            tally.withLock {
                $0.failed_writes += 1
                $0.dropped_samples += samples
                $0.last_error = "\(error)"
            }
        }
    }
}

/// What `--prometheus-remote-write` delivered in one run (in the result JSON and the reports).
struct RemoteWriteReport: Codable, Sendable, Equatable {
    /// The endpoint, without credentials.
    var url: String
    var writes = 0
    var samples = 0
    var failed_writes = 0
    var dropped_samples = 0
    var last_error: String?
    /// The labels every series of the run carries.
    var labels: [String: String]?

    /// One line for the summary and the reports.
    var sentence: String {
        "Prometheus remote write: \(Format.grouped(samples)) samples in \(writes) writes to \(url)"
            + (labels?["run_id"].map { " (run_id=\($0))" } ?? "")
            + (failed_writes > 0 ? "; \(failed_writes) writes (\(dropped_samples) samples) lost: \(last_error ?? "")" : "")
    }
}

/// One phase's seconds as samples for a ``RemoteWriteStream``, emitted once every loop thread has handed the second
/// over (so a sample never changes afterwards), in order. Counters (`…_total`) are cumulative from the phase's
/// start; latency gauges are the second's own percentiles, in seconds. A second's samples carry the instant it ended
/// (the phase's last, partial second: the instant the phase ended). Labels: `phase`, `lane` (when the scenario has
/// lanes) and, per request template, `route`.
struct PhaseSeries: Sendable {
    let phase: String
    let lane: String
    let routes: [String]
    let clock: PhaseClock
    private(set) var next = 0
    private var routeTotals: [Int: (requests: UInt64, errors: UInt64)] = [:]
    private var hits: UInt64 = 0
    private var misses: UInt64 = 0
    private var serverErrors: UInt64 = 0

    init(phase: String, lane: String, routes: [String], clock: PhaseClock) {
        self.phase = phase
        self.lane = lane
        self.routes = routes
        self.clock = clock
    }

    /// The phase-level quantiles written each second (`1` is the second's slowest request).
    static let quantiles: [(label: String, percentile: Double)] = [("0.5", 50), ("0.9", 90), ("0.99", 99), ("1", 100)]

    /// Emits the seconds the feed has made final (call while the phase runs).
    mutating func emitFinal(from feed: LiveFeed, to stream: RemoteWriteStream) {
        let final = feed.finalBefore
        while next < final, next <= (feed.lastSecond ?? -1) {
            emit(second: next, feed.bucket(next) ?? SecondBucket(), atMillis: endMillis(of: next), to: stream)
            next += 1
        }
    }

    /// Emits every second left (after the phase's loops ended); the last one is stamped `endedAtMillis`.
    mutating func emitRest(from feed: LiveFeed, to stream: RemoteWriteStream, endedAtMillis: Int64) {
        guard let last = feed.lastSecond else { return }
        while next <= last {
            let at = next == last ? max(endMillis(of: next - 1) + 1, min(endMillis(of: next), endedAtMillis)) : endMillis(of: next)
            emit(second: next, feed.bucket(next) ?? SecondBucket(), atMillis: at, to: stream)
            next += 1
        }
    }

    private func endMillis(of second: Int) -> Int64 { clock.wallStartMicros / 1_000 + Int64(second + 1) * 1_000 }

    private mutating func emit(second: Int, _ bucket: SecondBucket, atMillis at: Int64, to stream: RemoteWriteStream) {
        var base = ["phase": phase]
        if !lane.isEmpty { base["lane"] = lane }
        for (template, route) in bucket.routes {
            let sums = routeTotals[template] ?? (0, 0)
            routeTotals[template] = (sums.requests + route.requests, sums.errors + route.errors)
            guard template < routes.count, route.requests > 0 else { continue }
            let point = route.point(name: routes[template])
            let labels = base.merging(["route": point.name]) { _, new in new }
            stream.add(
                "happening_bench_route_latency_seconds", labels.merging(["quantile": "0.5"]) { _, new in new }, value: Double(point.p50_us) / 1e6, atMillis: at)
            stream.add(
                "happening_bench_route_latency_seconds", labels.merging(["quantile": "0.99"]) { _, new in new }, value: Double(point.p99_us) / 1e6, atMillis: at
            )
        }
        for (template, sums) in routeTotals where template < routes.count {
            let labels = base.merging(["route": routes[template]]) { _, new in new }
            stream.add("happening_bench_requests_total", labels, value: Double(sums.requests), atMillis: at)
            stream.add("happening_bench_errors_total", labels, value: Double(sums.errors), atMillis: at)
        }
        hits += bucket.cacheHits
        misses += bucket.cacheMisses
        serverErrors += bucket.status5xx
        stream.add("happening_bench_cache_hits_total", base, value: Double(hits), atMillis: at)
        stream.add("happening_bench_cache_misses_total", base, value: Double(misses), atMillis: at)
        stream.add("happening_bench_server_errors_total", base, value: Double(serverErrors), atMillis: at)
        guard bucket.requests > 0 else { return }
        stream.add("happening_bench_second_requests", base, value: Double(bucket.requests), atMillis: at)
        for (label, percentile) in Self.quantiles {
            let micros = percentile == 100 ? bucket.latency.max : bucket.latency.percentile(percentile)
            stream.add("happening_bench_latency_seconds", base.merging(["quantile": label]) { _, new in new }, value: Double(micros) / 1e6, atMillis: at)
        }
    }
}
