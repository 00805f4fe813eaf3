import Foundation
import HappeningCommandLine

/// scripts/compare-tls.sh's summary (results/compare-tls.{md,json}): the Bench over TLS against wrk (HTTP/1.1, raw and
/// curl engines) and against h2load (HTTP/2), each pinned to one core against one nginx file.
package struct TLSComparison: ScriptSummary {
    package struct Document: Codable, Sendable {
        var measured_at: String
        var machine: CoresAndArch
        var commit: String
        var command = "scripts/compare-tls.sh"
        var duration_seconds: Int
        var http1: HTTP1
        var http2: HTTP2
        var ratios: Ratios
        var goals = Goals()

        struct HTTP1: Codable, Sendable {
            var connections: Int
            var wrk: GeneratorFigures
            var bench_raw: GeneratorFigures
            var bench_curl: GeneratorFigures
        }

        struct HTTP2: Codable, Sendable {
            var tcp_connections: Int
            var streams_per_connection: Int
            var h2load: GeneratorFigures
            var bench_http2: GeneratorFigures
        }

        struct Ratios: Codable, Sendable {
            var tls_raw_vs_wrk_rps: Double
            var tls_raw_vs_wrk_cpu_per_request: Double
            var tls_curl_vs_wrk_rps: Double
            var tls_curl_vs_wrk_cpu_per_request: Double
            var h2_vs_h2load_rps: Double
            var h2_vs_h2load_cpu_per_request: Double
        }

        struct Goals: Codable, Sendable {
            var tls_raw_vs_wrk_rps_at_least = 0.8
        }
    }

    package let document: Document

    init(http1: Document.HTTP1, http2: Document.HTTP2, duration: Int, commit: String, measured: MeasuredOn) {
        let ratio = GeneratorFigures.ratio
        let ratios = Document.Ratios(
            tls_raw_vs_wrk_rps: ratio(http1.bench_raw, http1.wrk, \.rps),
            tls_raw_vs_wrk_cpu_per_request: ratio(http1.bench_raw, http1.wrk, \.cpu_seconds_per_100k),
            tls_curl_vs_wrk_rps: ratio(http1.bench_curl, http1.wrk, \.rps),
            tls_curl_vs_wrk_cpu_per_request: ratio(http1.bench_curl, http1.wrk, \.cpu_seconds_per_100k),
            h2_vs_h2load_rps: ratio(http2.bench_http2, http2.h2load, \.rps),
            h2_vs_h2load_cpu_per_request: ratio(http2.bench_http2, http2.h2load, \.cpu_seconds_per_100k))
        document = Document(
            measured_at: measured.at, machine: measured.coresAndArch, commit: commit, duration_seconds: duration, http1: http1, http2: http2, ratios: ratios)
    }

    /// From compare-tls.sh's work folder: `wrk.out`/`.time`, `h2load.out`/`.time`, and `bench-raw`, `bench-curl`, `bench-h2`
    /// (each a folder with the Bench's result and a `.time` file).
    package init(work: String, connections: Int, h2Connections: Int, streams: Int, duration: Int, commit: String, measured: MeasuredOn = .now()) throws {
        guard let h2load = H2LoadOutput(parsing: try SummaryFiles.text("\(work)/h2load.out")) else {
            throw UsageError("\(work)/h2load.out: not h2load's report")
        }
        let bench = { (name: String) in
            try GeneratorFigures.bench(directory: "\(work)/bench-\(name)", timeFile: "\(work)/bench-\(name).time", duration: duration)
        }
        let http1 = Document.HTTP1(
            connections: connections,
            wrk: GeneratorFigures(
                wrk: try ToolOutputs.wrk("\(work)/wrk.out"), cpuSeconds: try ToolOutputs.cpuSeconds(timeFile: "\(work)/wrk.time"), duration: duration),
            bench_raw: try bench("raw"), bench_curl: try bench("curl"))
        let http2 = Document.HTTP2(
            tcp_connections: h2Connections, streams_per_connection: streams,
            h2load: GeneratorFigures(h2load: h2load, cpuSeconds: try ToolOutputs.cpuSeconds(timeFile: "\(work)/h2load.time"), duration: duration),
            bench_http2: try bench("h2"))
        self.init(http1: http1, http2: http2, duration: duration, commit: commit, measured: measured)
    }

    package var markdown: String {
        let (d, r) = (document, document.ratios)
        let (h1, h2) = (d.http1, d.http2)
        let header = [
            "| generator | requests | req/s | p50 | p99 | mean | errors | CPU (user+sys) | CPU per 100,000 requests |", "|---|---|---|---|---|---|---|---|---|",
        ]
        let bench = h2.bench_http2
        return
            ([
                "# The load generator over TLS and HTTP/2, against wrk and h2load", "",
                "Measured \(d.measured_at) on \(d.machine.cores) cores (\(d.machine.arch)), commit \(d.commit), with `scripts/compare-tls.sh`: nginx",
                "(1 worker, core 1) serving a ~1 KB static JSON file over TLS 1.3 on loopback with a certificate the script makes; each generator",
                "pinned to core 0 in turn, \(d.duration_seconds) s each, closed model. The target's core is the bottleneck when a generator's CPU share",
                "stays below 100 % of core 0; a generator at ~100 % of its core is saturated itself.", "",
                "## HTTP/1.1 over TLS, \(h1.connections) connections", "",
            ] + header + [
                row("wrk -t1", h1.wrk), row("happening-bench (raw engine: libcurl does the handshake, Happening frames HTTP/1.1)", h1.bench_raw),
                row("happening-bench --engine curl", h1.bench_curl), "",
                "raw engine ÷ wrk: req/s \(r.tls_raw_vs_wrk_rps) (goal ≥ 0.8), CPU per request \(r.tls_raw_vs_wrk_cpu_per_request); "
                    + "curl engine ÷ wrk: req/s \(r.tls_curl_vs_wrk_rps), CPU per request \(r.tls_curl_vs_wrk_cpu_per_request).", "",
                "## HTTP/2 over TLS, \(h2.tcp_connections) TCP connections × \(h2.streams_per_connection) streams", "",
            ] + header + [
                row("h2load -t1 -c\(h2.tcp_connections) -m\(h2.streams_per_connection)", h2.h2load),
                row("happening-bench --http2 --streams \(h2.streams_per_connection) (\(h2.tcp_connections * h2.streams_per_connection) connections)", bench),
                "",
                "happening-bench ÷ h2load: req/s \(r.h2_vs_h2load_rps), CPU per request \(r.h2_vs_h2load_cpu_per_request). "
                    + "The Bench's answers: \(Self.versionsText(bench.http_versions)) over \(bench.tcp_connections.map { "\($0)" } ?? "None") TCP connections. "
                    + "h2load prints no percentiles (its mean is shown).", "",
            ]).joined(separator: "\n")
    }

    package var printed: String {
        markdown
            + "\nbench/wrk over TLS: req/s ratio \(document.ratios.tls_raw_vs_wrk_rps); bench/h2load over HTTP/2: req/s ratio \(document.ratios.h2_vs_h2load_rps)\n"
    }

    private func row(_ name: String, _ tool: GeneratorFigures) -> String {
        let latency = [tool.p50_ms, tool.p99_ms, tool.mean_ms].map { $0.map { String(format: "%.3f ms", $0) } ?? "–" }.joined(separator: " | ")
        return "| \(name) | \(Format.grouped(tool.requests)) | \(Format.grouped(tool.rps, decimals: 0)) | \(latency) | \(Format.grouped(tool.errors)) | "
            + String(format: "%.2f s (", tool.cpu_seconds) + Format.wholePercent(tool.cpu_share_of_one_core ?? 0)
            + String(format: " of core 0) | %.3f s |", tool.cpu_seconds_per_100k)
    }

    /// `{'2': 1200}`: the answers by HTTP version, written as the report has always shown them (`None` without any).
    static func versionsText(_ versions: [String: UInt64]?) -> String {
        guard let versions else { return "None" }
        return "{" + versions.sorted { $0.key < $1.key }.map { "'\($0.key)': \($0.value)" }.joined(separator: ", ") + "}"
    }
}
