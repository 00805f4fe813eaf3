import Foundation
import HappeningCommandLine

/// One generator's figures in a comparison (wrk, h2load or the Bench) and the CPU it spent, as compare-wrk.json and
/// compare-tls.json hold them.
package struct GeneratorFigures: Codable, Sendable, Equatable {
    var requests: UInt64
    var rps: Double
    /// h2load prints no percentiles.
    var p50_ms: Double?
    var p99_ms: Double?
    var mean_ms: Double?
    var errors: UInt64
    /// wrk's socket errors (connect, read, write, timeout).
    var socket_errors: UInt64?
    /// The Bench's answers by HTTP version and the TCP connections it opened (the curl engine), and its busiest second's CPU.
    var http_versions: [String: UInt64]?
    var tcp_connections: UInt64?
    var generator_cpu_max: Double?
    /// User + system seconds (`/usr/bin/time`), per 100,000 requests, and as a share of one core over the run.
    var cpu_seconds: Double
    var cpu_seconds_per_100k: Double
    /// Absent in files written before the comparisons shared this type.
    var cpu_share_of_one_core: Double?

    /// wrk's figures with its CPU seconds over a run of `duration` seconds.
    init(wrk: WrkOutput, cpuSeconds: Double, duration: Int) {
        self.init(requests: wrk.requests, rps: wrk.requestsPerSecond, errors: wrk.non2xx, cpuSeconds: cpuSeconds, duration: duration)
        (p50_ms, p99_ms, mean_ms, socket_errors) = (wrk.p50Milliseconds, wrk.p99Milliseconds, wrk.meanMilliseconds, wrk.socketErrors)
    }

    /// h2load's figures: its succeeded requests, failed ones as errors.
    init(h2load: H2LoadOutput, cpuSeconds: Double, duration: Int) {
        self.init(requests: h2load.succeeded, rps: h2load.requestsPerSecond, errors: h2load.failed, cpuSeconds: cpuSeconds, duration: duration)
        mean_ms = h2load.meanMilliseconds
    }

    /// The Bench's figures from the last phase of its result's first run.
    init?(bench result: BenchResult, cpuSeconds: Double, duration: Int) {
        guard let phase = result.runs.first?.phases.last else { return nil }
        self.init(requests: phase.requests, rps: phase.requests_per_second, errors: phase.errors, cpuSeconds: cpuSeconds, duration: duration)
        (p50_ms, p99_ms) = (Double(phase.latency.p50) / 1_000, Double(phase.latency.p99) / 1_000)
        mean_ms = Format.rounded(phase.latency.mean / 1_000, places: 3)
        (http_versions, tcp_connections, generator_cpu_max) = (phase.http_versions, phase.connections_opened, phase.generator?.cpu_max)
    }

    private init(requests: UInt64, rps: Double, errors: UInt64, cpuSeconds: Double, duration: Int) {
        (self.requests, self.rps, self.errors, cpu_seconds) = (requests, rps, errors, cpuSeconds)
        cpu_seconds_per_100k = Format.rounded(cpuSeconds / Double(max(1, requests)) * 100_000, places: 3)
        cpu_share_of_one_core = Format.rounded(cpuSeconds / Double(max(1, duration)), places: 3)
    }

    /// The Bench's figures from the newest result in `directory`, with the CPU seconds in `timeFile`.
    static func bench(directory: String, timeFile: String, duration: Int) throws -> GeneratorFigures {
        guard let path = SummaryFiles.newestJSON(in: directory), let result = SummaryFiles.result(path),
            let figures = GeneratorFigures(bench: result, cpuSeconds: try ToolOutputs.cpuSeconds(timeFile: timeFile), duration: duration)
        else { throw UsageError("no happening-bench result in \(directory)") }
        return figures
    }

    /// `a ÷ b` of one figure, to 3 places.
    static func ratio(_ a: GeneratorFigures, _ b: GeneratorFigures, _ figure: KeyPath<GeneratorFigures, Double>) -> Double {
        Format.rounded(a[keyPath: figure] / b[keyPath: figure], places: 3)
    }
}

/// scripts/compare-wrk.sh's summary (results/compare-wrk.{md,json}): the Bench (raw engine, then curl) against wrk on one
/// nginx file, each pinned to one core, same connections and duration.
package struct GeneratorComparison: ScriptSummary {
    package struct Document: Codable, Sendable {
        var measured_at: String
        var machine: CoresAndArch
        var commit: String
        var command = "scripts/compare-wrk.sh"
        var connections: Int
        var duration_seconds: Int
        var wrk: GeneratorFigures
        var bench: GeneratorFigures
        var bench_engine_curl: GeneratorFigures
        var ratio_rps: Double
        var ratio_cpu_per_request: Double
        var goals = Goals()

        struct Goals: Codable, Sendable {
            var ratio_rps_at_least = 0.9
            var ratio_cpu_at_most = 1.2
            var latency_within = 0.1
        }
    }

    package let document: Document

    init(wrk: GeneratorFigures, raw: GeneratorFigures, curl: GeneratorFigures, connections: Int, duration: Int, commit: String, measured: MeasuredOn) {
        document = Document(
            measured_at: measured.at, machine: measured.coresAndArch, commit: commit, connections: connections, duration_seconds: duration, wrk: wrk,
            bench: raw, bench_engine_curl: curl, ratio_rps: GeneratorFigures.ratio(raw, wrk, \.rps),
            ratio_cpu_per_request: GeneratorFigures.ratio(raw, wrk, \.cpu_seconds_per_100k))
    }

    /// From compare-wrk.sh's work folder: `wrk.out`, `wrk.time`, `bench-raw/`, `bench-raw.time`, `bench-curl/`, `bench-curl.time`.
    package init(work: String, connections: Int, duration: Int, commit: String, measured: MeasuredOn = .now()) throws {
        let wrk = GeneratorFigures(
            wrk: try ToolOutputs.wrk("\(work)/wrk.out"), cpuSeconds: try ToolOutputs.cpuSeconds(timeFile: "\(work)/wrk.time"), duration: duration)
        let raw = try GeneratorFigures.bench(directory: "\(work)/bench-raw", timeFile: "\(work)/bench-raw.time", duration: duration)
        let curl = try GeneratorFigures.bench(directory: "\(work)/bench-curl", timeFile: "\(work)/bench-curl.time", duration: duration)
        self.init(wrk: wrk, raw: raw, curl: curl, connections: connections, duration: duration, commit: commit, measured: measured)
    }

    package var markdown: String {
        let d = document
        return [
            "# The load generator against wrk", "",
            "Measured \(d.measured_at) on \(d.machine.cores) cores (\(d.machine.arch)), commit \(d.commit), with `scripts/compare-wrk.sh`: nginx (1 worker, core 1) serving",
            "a ~1 KB static JSON file over loopback; each generator pinned to core 0, \(d.connections) connections, \(d.duration_seconds) s, closed model.", "",
            "| generator | requests | req/s | p50 | p99 | CPU (user+sys) | CPU per 100,000 requests |", "|---|---|---|---|---|---|---|",
            row("wrk -t1", d.wrk), row("happening-bench (default engine: raw)", d.bench), row("happening-bench --engine curl", d.bench_engine_curl), "",
            "The raw engine opens its plain-HTTP sockets and frames HTTP/1.1 itself (over TLS libcurl connects and encrypts); `--engine curl` makes every request a libcurl",
            "transfer, whose per-transfer work (URL and header parsing, allocations, a liveness poll per reuse, timers) costs the difference.", "",
            "bench/wrk: req/s ratio \(d.ratio_rps), CPU per request ratio \(d.ratio_cpu_per_request) (goals: ≥ 0.9 and ≤ 1.2).", "",
        ].joined(separator: "\n")
    }

    package var printed: String {
        markdown + "\nbench/wrk: req/s ratio \(document.ratio_rps), CPU per request ratio \(document.ratio_cpu_per_request)\n"
    }

    private func row(_ name: String, _ tool: GeneratorFigures) -> String {
        "| \(name) | \(Format.grouped(tool.requests)) | \(Format.grouped(tool.rps, decimals: 0)) | "
            + String(format: "%.3f ms | %.3f ms | %.2f s | %.3f s |", tool.p50_ms ?? 0, tool.p99_ms ?? 0, tool.cpu_seconds, tool.cpu_seconds_per_100k)
    }
}
