import Foundation
import HappeningCommandLine

/// scripts/compare-nginx.sh's summary (results/server-vs-nginx.{md,json,html}): per request pattern, the server's CPU per
/// request and req/s against nginx answering the same bytes on the same core, the median of the rounds, CPU ratios first.
/// Its JSON is what the perf gate keeps as its base (results/perf-gate-base.json) and what the anchors read.
package struct NginxComparison: ScriptSummary {
    /// The patterns measured, in order, with what each is and the answer it must get.
    static let patterns: [(name: String, description: String, expected: Int)] = [
        ("cached-get", "keep-alive GET /api/events/:id (cache on; nginx: the same bytes from a file)", 200),
        ("floor", "keep-alive GET /api/health/live (no work: the stack's floor; nginx: the same body)", 200),
        ("refused", "keep-alive POST /api/bookings, sold out → 422 (nginx: return 422 with the same body)", 422),
        ("refused-new-connection", "the same POST on a new connection per request (Connection: close)", 422),
    ]
    /// The issue's goals: the server's CPU per request at most this many times nginx's, its req/s at least this share.
    static let cpuGoals = ["cached-get": 2.5, "refused": 4.0, "refused-new-connection": 3.0]
    static let rpsGoals = ["cached-get": 0.5, "floor": 0.6]

    package struct Document: Codable, Sendable {
        var measured_at: String
        var command = "scripts/compare-nginx.sh"
        var commit: String
        /// `host, N cores`.
        var machine: String
        var placement = "each target alone on core 1 (server EVENT_LOOPS=1, nginx one worker without master), wrk -t1 on core 0"
        var connections: Int
        var duration_seconds: Int
        var rounds: Int
        var statistic = "median of the rounds"
        /// The server's X-Cache answer to the cached read.
        var x_cache: String
        var inline_answers: String
        var patterns: [String: Pattern]

        /// The patterns in the order they are measured (others after them, by name).
        var orderedPatterns: [(name: String, pattern: Pattern)] {
            let known = NginxComparison.patterns.map(\.name)
            return (known.filter { patterns[$0] != nil } + patterns.keys.filter { !known.contains($0) }.sorted()).map { ($0, patterns[$0]!) }
        }
    }

    /// One pattern on both targets, and the ratios against the goals.
    package struct Pattern: Codable, Sendable {
        var description: String
        var expected_status: Int
        var server: Side
        var nginx: Side
        var cpu_ratio: Double
        var rps_ratio: Double
        @NullWhenNil var cpu_goal_at_most: Double?
        @NullWhenNil var rps_goal_at_least: Double?
        @NullWhenNil var cpu_goal_met: Bool?
        @NullWhenNil var rps_goal_met: Bool?
    }

    /// One target's rounds of a pattern, and their medians.
    package struct Side: Codable, Sendable {
        var runs: [Measurement]
        var rps: Double
        var cpu_us_per_request: Double
        var p99_ms: Double
        var unexpected_answers: UInt64
        var socket_errors: UInt64

        init(runs: [Measurement]) {
            self.runs = runs
            let median = { (figure: KeyPath<Measurement, Double>) in Format.rounded(runs.map { $0[keyPath: figure] }.median ?? 0, places: 3) }
            (rps, cpu_us_per_request, p99_ms) = (median(\.rps), median(\.cpu_us_per_request), median(\.p99_ms))
            (unexpected_answers, socket_errors) = (runs.reduce(0) { $0 + $1.unexpected_answers }, runs.reduce(0) { $0 + $1.socket_errors })
        }
    }

    /// One wrk run against one target, with the target's CPU over it.
    package struct Measurement: Codable, Sendable {
        var requests: UInt64
        var rps: Double
        var p50_ms: Double
        var p99_ms: Double
        var mean_ms: Double
        var errors: UInt64
        var socket_errors: UInt64
        var cpu_seconds: Double
        var cpu_us_per_request: Double
        /// Answers other than the pattern's status (wrk counts every non-2xx as an error: for a 422 pattern, the rest).
        var unexpected_answers: UInt64

        init(wrk: WrkOutput, cpuSeconds: Double, expectedStatus: Int) {
            (requests, rps, p50_ms, p99_ms, mean_ms) = (wrk.requests, wrk.requestsPerSecond, wrk.p50Milliseconds, wrk.p99Milliseconds, wrk.meanMilliseconds)
            (errors, socket_errors, cpu_seconds) = (wrk.non2xx, wrk.socketErrors, cpuSeconds)
            cpu_us_per_request = Format.rounded(cpuSeconds / Double(max(1, wrk.requests)) * 1e6, places: 2)
            unexpected_answers = expectedStatus == 200 ? wrk.non2xx : wrk.requests - min(wrk.requests, wrk.non2xx)
        }
    }

    /// How the comparison was run, as the reports state it.
    package struct Settings: Sendable {
        var connections: Int
        var duration: Int
        var rounds: Int
        var xCache: String
        var commit: String
        var inlineAnswers: String

        package init(connections: Int, duration: Int, rounds: Int, xCache: String, commit: String, inlineAnswers: String) {
            (self.connections, self.duration, self.rounds, self.xCache, self.commit, self.inlineAnswers) =
                (connections, duration, rounds, xCache, commit, inlineAnswers)
        }
    }

    package let document: Document

    init(measurements: (_ round: Int, _ target: String, _ pattern: String, _ expected: Int) throws -> Measurement, settings: Settings, measured: MeasuredOn)
        throws
    {
        var patterns: [String: Pattern] = [:]
        for (name, description, expected) in Self.patterns {
            let rounds = 1...max(1, settings.rounds)
            let server = Side(runs: try rounds.map { try measurements($0, "server", name, expected) })
            let nginx = Side(runs: try rounds.map { try measurements($0, "nginx", name, expected) })
            let cpuRatio = Format.rounded(server.cpu_us_per_request / max(nginx.cpu_us_per_request, .leastNonzeroMagnitude), places: 2)
            let rpsRatio = Format.rounded(server.rps / max(nginx.rps, .leastNonzeroMagnitude), places: 3)
            let (cpuGoal, rpsGoal) = (Self.cpuGoals[name], Self.rpsGoals[name])
            patterns[name] = Pattern(
                description: description, expected_status: expected, server: server, nginx: nginx, cpu_ratio: cpuRatio, rps_ratio: rpsRatio,
                cpu_goal_at_most: cpuGoal, rps_goal_at_least: rpsGoal, cpu_goal_met: cpuGoal.map { cpuRatio <= $0 },
                rps_goal_met: rpsGoal.map { rpsRatio >= $0 })
        }
        document = Document(
            measured_at: measured.at, commit: settings.commit, machine: "\(measured.hostname), \(measured.cores) cores", connections: settings.connections,
            duration_seconds: settings.duration, rounds: settings.rounds, x_cache: settings.xCache, inline_answers: settings.inlineAnswers,
            patterns: patterns)
    }

    /// From compare-nginx.sh's work folder: `out/ROUND-TARGET-PATTERN.wrk` (wrk's report) and `.cpu` (the target's CPU ticks).
    package init(work: String, settings: Settings, measured: MeasuredOn = .now()) throws {
        try self.init(
            measurements: { round, target, pattern, expected in
                let path = "\(work)/out/\(round)-\(target)-\(pattern)"
                guard let cpu = ToolOutputs.cpuSeconds(ticks: try SummaryFiles.text(path + ".cpu")) else {
                    throw UsageError("\(path).cpu: not BEFORE AFTER HZ")
                }
                return Measurement(wrk: try ToolOutputs.wrk(path + ".wrk"), cpuSeconds: cpu, expectedStatus: expected)
            }, settings: settings, measured: measured)
    }

    /// The table's header and one row per pattern (shared by the Markdown and the HTML).
    var table: (header: String, rows: [String]) {
        let mark = { (met: Bool?) in met.map { $0 ? " ✓" : " ✗" } ?? "" }
        let rows = document.orderedPatterns.map { name, entry in
            let (server, nginx) = (entry.server, entry.nginx)
            return "| \(name) | **\(entry.cpu_ratio)×**\(mark(entry.cpu_goal_met)) (\(entry.cpu_goal_at_most.map { "≤ \($0)×" } ?? "—")) | "
                + String(format: "%.1f | %.1f | ", server.cpu_us_per_request, nginx.cpu_us_per_request)
                + "\(entry.rps_ratio)×\(mark(entry.rps_goal_met)) (\(entry.rps_goal_at_least.map { "≥ \($0)×" } ?? "—")) | "
                + "\(Format.grouped(server.rps, decimals: 0)) | \(Format.grouped(nginx.rps, decimals: 0)) | "
                + String(format: "%.2f / %.2f | ", server.p99_ms, nginx.p99_ms)
                + "\(server.unexpected_answers + server.socket_errors) / \(nginx.unexpected_answers + nginx.socket_errors) |"
        }
        let header =
            "| pattern | CPU × nginx (goal) | server CPU µs/req | nginx CPU µs/req | req/s × nginx (goal) | server req/s | nginx req/s | "
            + "p99 ms server / nginx | unexpected answers + socket errors |"
        return (header, rows)
    }

    package var markdown: String {
        let d = document
        return
            ([
                "# The server's request path against nginx", "",
                "Measured \(d.measured_at) at commit `\(d.commit)` on \(d.machine) with `scripts/compare-nginx.sh`: \(d.placement),",
                "-c\(d.connections), \(d.duration_seconds) s per measurement, \(d.rounds) rounds (each pattern on the server, then on nginx); the median of the rounds.",
                "CPU is the target's user + system time (every thread) from `/proc/<pid>/stat` over the run, divided by its requests. X-Cache: \(d.x_cache);",
                "the server's `INLINE_ANSWERS=\(d.inline_answers)`.", "", table.header, "|---|---|---|---|---|---|---|---|---|",
            ] + table.rows + [""] + d.orderedPatterns.map { "- **\($0.name)**: \($0.pattern.description)" } + [""]).joined(separator: "\n")
    }

    /// The HTML page: the table, and bar charts of CPU per request and req/s, server beside nginx.
    package var html: String {
        let d = document
        let cells = { (line: String, tag: String) in
            line.trimmingCharacters(in: CharacterSet(charactersIn: "|")).split(separator: "|", omittingEmptySubsequences: false)
                .map { "<\(tag)>\($0.trimmingCharacters(in: .whitespaces))</\(tag)>" }.joined()
        }
        let rows = table.rows.map { "<tr>" + cells($0, "td") + "</tr>" }.joined().replacingOccurrences(of: "**", with: "")
        return """
            <!doctype html><html><head><meta charset="utf-8"><title>Server vs nginx</title>
            <style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}\
            td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}</style></head>
            <body><h1>The server's request path against nginx</h1>
            <p>Commit <code>\(d.commit)</code>, \(d.machine), \(d.measured_at); \(d.placement); \
            -c\(d.connections), \(d.duration_seconds) s, median of \(d.rounds) rounds; INLINE_ANSWERS=\(d.inline_answers).</p>
            <table><tr>\(cells(table.header, "th"))</tr>\(rows)</table>
            <h2>CPU per request (lower is better)</h2>\(bars(\.cpu_us_per_request, unit: "µs", title: "CPU per request"))
            <h2>Requests per second (higher is better)</h2>\(bars(\.rps, unit: "req/s", title: "Requests per second"))
            </body></html>
            """
    }

    /// An SVG bar chart of one figure, server beside nginx, per pattern.
    private func bars(_ figure: KeyPath<Side, Double>, unit: String, title: String) -> String {
        let (width, row, left) = (900.0, 46, 190.0)
        let entries = document.orderedPatterns
        let highest = entries.map { max($0.pattern.server[keyPath: figure], $0.pattern.nginx[keyPath: figure]) }.max() ?? 0
        let scale = highest == 0 ? 1 : highest
        var parts = ["<svg width=\"\(Int(width))\" height=\"\(row * entries.count + 40)\" role=\"img\"><title>\(title)</title>"]
        for (index, entry) in entries.enumerated() {
            let y = 20 + index * row
            parts.append("<text x=\"0\" y=\"\(y + 16)\" font-size=\"13\">\(entry.name)</text>")
            for (offset, (target, colour)) in [("server", "#3b6fb6"), ("nginx", "#8a8a8a")].enumerated() {
                let value = (target == "server" ? entry.pattern.server : entry.pattern.nginx)[keyPath: figure]
                let bar = max(1, (width - left - 200) * value / scale)
                let top = y + offset * 18
                parts.append("<rect x=\"\(Int(left))\" y=\"\(top)\" width=\"\(String(format: "%.0f", bar))\" height=\"15\" fill=\"\(colour)\"/>")
                parts.append(
                    "<text x=\"\(String(format: "%.0f", left + bar + 6))\" y=\"\(top + 12)\" font-size=\"12\">"
                        + "\(target) \(Format.grouped(value, decimals: 1)) \(unit)</text>")
            }
        }
        return parts.joined() + "</svg>"
    }
}
