import Foundation
import HappeningCommandLine
import Testing

@testable import HappeningBench

/// `happening-bench report KIND`: the scripts' summaries from result files built here, and the other tools' text outputs
/// they read (wrk, h2load, `/usr/bin/time`, `/proc` ticks).
@Suite("Bench: the scripts' summaries (happening-bench report)", .timeLimit(.minutes(10)))
struct SummaryReportTests {
    static let measured = MeasuredOn(at: "2026-12-08T10:00:00Z", cores: 2, arch: "x86_64", memoryGiB: 24, hostname: "vm")

    // MARK: the figures, make demo, make fleet, the drain

    @Test("the figures as the files always showed them: grouped decimals, ms or s, whole percentages, printf's rounding")
    func formats() {
        #expect(Format.grouped(1_234_567.45, decimals: 1) == "1,234,567.4" || Format.grouped(1_234_567.45, decimals: 1) == "1,234,567.5")
        #expect(Format.grouped(61_234.5, decimals: 0) == "61,234" && Format.grouped(-1_500.25, decimals: 2) == "-1,500.25")
        #expect(Format.milliseconds(micros: 307_455) == "307.5 ms" && Format.milliseconds(micros: 2_435_071) == "2.44 s")
        #expect(Format.wholePercent(0.996) == "100%" && Format.wholePercent(0.5) == "50%")
        #expect(Format.rounded(2.675, places: 2) == 2.67 && Format.rounded(0.1234, places: 3) == 0.123)
        #expect(Format.plain(344) == "344" && Format.plain(344.5) == "344.5")
        #expect([3.0, 1.0, 2.0].median == 2 && [4.0, 1.0, 2.0, 3.0].median == 2.5 && [Double]().median == nil)
    }

    @Test("demo: a row per strategy (PASS, or FAILED TO RUN without a result), the drain, the day's windows, the chaos sale; absent steps are null")
    func demo() throws {
        var day = Self.result([Self.phase("sale", lane: "sale")], windows: [Self.phase("browse@sale", lane: "browse"), Self.phase("browse", lane: "browse")])
        day.thresholds = [ThresholdResult(expression: "browse@sale.p99 < 25ms", actual: 30_000, limit: 25_000, passed: false, message: "over")]
        day.passed = false
        let drain = DrainSummary.Document(
            measured_at: "t", jobs_per_run: 3_000, pgbench_tps: 1_742,
            runs: [try .init(row: "batch|hot|3000|0.53|5673|ok", pgbenchTPS: 1_742), try .init(row: "batch|spread|3000|1.30|2315|ok", pgbenchTPS: 1_742)])
        let summary = DemoSummary(
            secondsAfterBuild: 155,
            flashSales: [
                ("for-update", SummaryInput(path: "a.json", value: Self.result([Self.phase("intake", p99: 307_455)], ledger: ledger()))),
                ("batch", SummaryInput(path: "b.json", value: nil)),
            ], drain: SummaryInput(path: "d.json", value: drain), homepage: nil, day: SummaryInput(path: "day.json", value: day), chaos: nil)
        let text = summary.markdown
        #expect(text.contains("| for-update | PASS | 10 / 10 | 400 | 307.5 ms | 1.20 s | 950.5 |"), "\(text)")
        #expect(text.contains("| batch | FAILED TO RUN | | | | | |"))
        #expect(text.contains("| a full queue drained (3,000 jobs) |") && text.contains("| batch | 5,673 | 3.26 | 2,315 | ok |"))
        #expect(text.contains("| during the sale | 100 | ") && text.contains("| whole run | 100 | ") && !text.contains("before the sale |"))
        #expect(text.contains("flash-sale day: FAIL; sale ledger held – / –, oversold –; failing: browse@sale.p99 < 25ms"))
        #expect(text.hasSuffix("155 s after the build.\n") && !text.contains("homepage |") && !text.contains("chaos flash sale"))
        let json = try Self.json(summary.document)
        #expect(json["homepage"] is NSNull && json["chaos"] is NSNull && (json["flash_sales"] as? [Any])?.count == 1)
    }

    @Test("fleet: the merged ledger's verdict comes from its violations (the result has no 'passed'); shards' first sends from the earliest")
    func fleet() throws {
        var broken = ledger(oversold: 2)
        broken.violations = ["OVERSOLD by 2 tickets"]
        let shards = (0..<2).map { index -> BenchResult in
            var phase = Self.phase("intake")
            phase.first_sent_micros = 1_000_000 + Int64(index) * 1_500
            phase.last_sent_micros = 1_200_000
            phase.memory = MemoryReport(
                rss_before_bytes: 1, rss_peak_bytes: 80_000_000, connections: 10_000, peak_per_connection_bytes: 8_000 + UInt64(index),
                added_per_connection_bytes: 3_000)
            var result = Self.result([phase])
            result.runs[0].shard = ShardReport(index: index, count: 2)
            return result
        }
        for (ledger, passed) in [(ledger(), true), (broken, false)] {
            var merged = Self.result([Self.phase("intake")], ledger: ledger)
            merged.runs[0].phases[0].shard_start_skew_ms = 1.5
            let settings = FleetSummary.Settings(users: 40_000, tickets: 100, commit: "abc", priority: "realtime", threads: nil, descriptorLimit: "20000")
            let summary = try FleetSummary(
                merged: merged, mergedPath: "results/runs/x-flash-sale.json", shards: shards, settings: settings, measured: Self.measured)
            #expect(summary.document.ledger.passed == passed && summary.document.memory_peak_per_connection_bytes_worst_shard == 8_001)
            #expect(
                summary.markdown.contains("| 1 | 10 | 100 | 200×100 | 1.50 ms | 198.5 ms | 10.0 ms | 76.3 MiB | 7.8 KiB | 2.9 KiB |"), "\(summary.markdown)")
            #expect(summary.markdown.contains("start skew across shards **1.50 ms**") && summary.markdown.contains("[x-flash-sale.md](x-flash-sale.md)"))
            #expect(try Self.json(summary.document)["threads_per_shard"] is NSNull)
        }
        #expect(FleetSummary.Settings(users: 1, tickets: 1, commit: "c", priority: "0", threads: 1, descriptorLimit: "?").out == "results/fleet-priority-0")
    }

    @Test("drain: rows as drain-bench.sh prints them, × pgbench to two places, integers stay integers")
    func drain() throws {
        let settings = DrainSummary.Settings(prefetch: 400, concurrency: 4, batch: 100, pgbenchClients: 8)
        let summary = try DrainSummary(
            rows: ["batch|hot|3000|0.53|5673|ok", "for-update|hot|2999|3.03|989|OVERSOLD"], jobs: 3_000, pgbenchTPS: 1_742, settings: settings,
            measured: Self.measured)
        #expect(summary.document.runs.map(\.times_pgbench) == [3.26, 0.57] && summary.document.runs[1].decided == 2_999)
        #expect(summary.markdown.contains("| batch | hot | 3000 | 0.53 | 5673 | 3.26 | ok |") && summary.markdown.contains("8 clients: **1742 TPS**"))
        let json = String(decoding: try SummaryFiles.encoder.encode(summary.document), as: UTF8.self)
        #expect(json.contains("\"decided_per_second\" : 5673,") && json.contains("\"pgbench_tps\" : 1742"))
        #expect(throws: UsageError.self) { try DrainSummary(rows: ["batch|hot|x"], jobs: 1, pgbenchTPS: 1, settings: settings) }
    }

    // MARK: the other tools' outputs

    static let wrk = """
        Running 10s test @ http://127.0.0.1:58080/static.json
          1 threads and 50 connections
          Thread Stats   Avg      Stdev     Max   +/- Stdev
            Latency   812.00us  120.50us   5.20ms   90.12%
            Req/Sec    61.23k     2.10k   65.00k    80.00%
          Latency Distribution
             50%  790.00us
             75%  850.00us
             90%  950.00us
             99%    1.20ms
          612345 requests in 10.00s, 700.00MB read
          Socket errors: connect 0, read 3, write 0, timeout 2
          Non-2xx or 3xx responses: 17
        Requests/sec:  61234.50
        Transfer/sec:     70.00MB
        """

    static let h2load = """
        finished in 10.00s, 45678.90 req/s, 50.00MB/s
        requests: 456789 total, 456889 started, 456789 done, 456780 succeeded, 9 failed, 0 errored, 0 timeout
        status codes: 456780 2xx, 0 3xx, 0 4xx, 0 5xx
                             min         max         mean         sd        +/- sd
        time for request:      512us     12.34ms      2.10ms      1.00ms    70.00%
        """

    @Test("wrk --latency: requests, req/s, p50 and p99 and the mean in ms, non-2xx answers and socket errors added up")
    func wrkOutput() throws {
        let output = try #require(WrkOutput(parsing: Self.wrk))
        #expect(output.requests == 612_345 && output.requestsPerSecond == 61_234.5)
        #expect(output.p50Milliseconds == 790 * 0.001 && output.p99Milliseconds == 1.2 && output.meanMilliseconds == 812 * 0.001)
        #expect(output.non2xx == 17 && output.socketErrors == 5)
        #expect(WrkOutput(parsing: "unable to connect to 127.0.0.1:1 Connection refused") == nil)
    }

    @Test("h2load: the succeeded requests, the failed ones, req/s and the mean request time")
    func h2loadOutput() throws {
        let output = try #require(H2LoadOutput(parsing: Self.h2load))
        #expect(output.succeeded == 456_780 && output.failed == 9 && output.requestsPerSecond == 45_678.9 && output.meanMilliseconds == 2.1)
        #expect(H2LoadOutput(parsing: "") == nil)
    }

    @Test("/usr/bin/time's user + system seconds (after its exit line), /proc ticks over the clock rate, durations in ms")
    func timesAndTicks() {
        #expect(ToolOutputs.cpuSeconds(time: "Command exited with non-zero status 1\n1.50 0.25\n") == 1.75)
        #expect(ToolOutputs.cpuSeconds(time: "") == nil)
        #expect(ToolOutputs.cpuSeconds(ticks: "5000 5250 100\n") == 2.5)
        #expect(ToolOutputs.cpuSeconds(ticks: "5000 5250") == nil)
        #expect(ToolOutputs.milliseconds("812.00us") == 812 * 0.001 && ToolOutputs.milliseconds("2.10s") == 2_100)
        #expect(ToolOutputs.milliseconds("1.5m") == 90_000 && ToolOutputs.milliseconds("fast") == nil)
    }

    // MARK: the generator comparisons, the server against nginx, the perf gate

    @Test("compare-wrk: CPU per 100,000 requests and per core, ratios to wrk to three places, the verdict line")
    func compareWrk() throws {
        let wrk = GeneratorFigures(wrk: try #require(WrkOutput(parsing: Self.wrk)), cpuSeconds: 9.5, duration: 10)
        #expect(wrk.cpu_seconds_per_100k == 1.551 && wrk.cpu_share_of_one_core == 0.95 && wrk.socket_errors == 5)
        var phase = Self.phase("steady", p99: 1_500, requests: 550_000)
        phase.requests_per_second = 55_000
        let raw = try #require(GeneratorFigures(bench: Self.result([phase]), cpuSeconds: 9.9, duration: 10))
        let summary = GeneratorComparison(wrk: wrk, raw: raw, curl: raw, connections: 50, duration: 10, commit: "abc", measured: Self.measured)
        #expect(summary.document.ratio_rps == 0.898 && summary.document.ratio_cpu_per_request == 1.161)
        #expect(summary.markdown.contains("| wrk -t1 | 612,345 | 61,234 | 0.790 ms | 1.200 ms | 9.50 s | 1.551 s |"), "\(summary.markdown)")
        #expect(summary.printed.hasSuffix("bench/wrk: req/s ratio 0.898, CPU per request ratio 1.161\n"))
    }

    @Test("compare-tls: h2load has no percentiles (–), the Bench's HTTP versions as the report shows them, the ratios")
    func compareTLS() throws {
        let wrk = GeneratorFigures(wrk: try #require(WrkOutput(parsing: Self.wrk)), cpuSeconds: 9.5, duration: 10)
        let h2load = GeneratorFigures(h2load: try #require(H2LoadOutput(parsing: Self.h2load)), cpuSeconds: 8, duration: 10)
        var phase = Self.phase("steady", requests: 400_000)
        phase.requests_per_second = 40_000
        phase.http_versions = ["2": 400_000]
        phase.connections_opened = 4
        let bench = try #require(GeneratorFigures(bench: Self.result([phase]), cpuSeconds: 9, duration: 10))
        let summary = TLSComparison(
            http1: .init(connections: 50, wrk: wrk, bench_raw: bench, bench_curl: bench),
            http2: .init(tcp_connections: 4, streams_per_connection: 25, h2load: h2load, bench_http2: bench), duration: 10, commit: "abc",
            measured: Self.measured)
        #expect(summary.document.ratios.h2_vs_h2load_rps == 0.876)
        #expect(summary.markdown.contains("| h2load -t1 -c4 -m25 | 456,780 | 45,679 | – | – | 2.100 ms | 9 | 8.00 s (80% of core 0) | 1.751 s |"))
        #expect(summary.markdown.contains("The Bench's answers: {'2': 400000} over 4 TCP connections."))
    }

    /// A compare-nginx document whose server spends `serverCPU` per request (round by round) against nginx's 10 µs.
    static func nginx(commit: String, serverCPU: [Double], rps: Double = 30_000) throws -> NginxComparison.Document {
        let wrk = try #require(WrkOutput(parsing: Self.wrk))
        let settings = NginxComparison.Settings(connections: 50, duration: 4, rounds: serverCPU.count, xCache: "HIT", commit: commit, inlineAnswers: "on")
        return try NginxComparison(
            measurements: { round, target, _, expected in
                var measurement = NginxComparison.Measurement(wrk: wrk, cpuSeconds: 1, expectedStatus: expected)
                measurement.cpu_us_per_request = target == "server" ? serverCPU[round - 1] : 10
                measurement.rps = target == "server" ? rps : 60_000
                return measurement
            }, settings: settings, measured: Self.measured
        ).document
    }

    @Test("compare-nginx: CPU and req/s ratios against the goals (✓/✗), a 422 pattern's unexpected answers, the HTML's charts")
    func compareNginx() throws {
        let wrk = try #require(WrkOutput(parsing: Self.wrk))
        #expect(NginxComparison.Measurement(wrk: wrk, cpuSeconds: 6.12345, expectedStatus: 422).unexpected_answers == 612_345 - 17)
        #expect(NginxComparison.Measurement(wrk: wrk, cpuSeconds: 6.12345, expectedStatus: 200).cpu_us_per_request == 10)
        let document = try Self.nginx(commit: "abc", serverCPU: [20, 30, 25])
        let cached = try #require(document.patterns["cached-get"])
        #expect(cached.cpu_ratio == 2.5 && cached.cpu_goal_met == true && cached.rps_ratio == 0.5 && cached.rps_goal_met == true)
        #expect(document.patterns["floor"]?.cpu_goal_met == nil && document.orderedPatterns.map(\.name).first == "cached-get")
        let settings = NginxComparison.Settings(connections: 50, duration: 4, rounds: 3, xCache: "HIT", commit: "abc", inlineAnswers: "on")
        let summary = try NginxComparison(
            measurements: { _, target, _, expected in
                var measurement = NginxComparison.Measurement(wrk: wrk, cpuSeconds: target == "server" ? 40 : 6, expectedStatus: expected)
                measurement.rps = target == "server" ? 20_000 : 60_000
                return measurement
            }, settings: settings, measured: Self.measured)
        #expect(summary.markdown.contains("| cached-get | **6.67×** ✗ (≤ 2.5×) | 65.3 | 9.8 | 0.333× ✗ (≥ 0.5×) | 20,000 | 60,000 |"), "\(summary.markdown)")
        #expect(summary.html.contains("<svg width=\"900\" height=\"224\"") && summary.html.contains("<td>6.67× ✗ (≤ 2.5×)</td>"))
        let decoded = try JSONDecoder().decode(NginxComparison.Document.self, from: try SummaryFiles.encoder.encode(summary.document))
        #expect(decoded.orderedPatterns.count == 4)
    }

    @Test("perf gate: a regression beyond the tolerance is flagged (and fails with --strict); within it, or with rounds overlapping, not")
    func perfGate() throws {
        let base = PerfGate.Base(runs: [try Self.nginx(commit: "base", serverCPU: [20, 21, 19])])
        let slower = PerfGate(base: base, now: try Self.nginx(commit: "new", serverCPU: [26, 27, 25]), tolerancePercent: 15, strict: true, out: "o")
        let row = try #require(slower.document.rows.first { $0.pattern == "cached-get" && $0.measure == "CPU µs/req × nginx" })
        #expect(row.verdict == "regressed" && row.change_percent == 30 && slower.fails && slower.document.regressed == 4)
        #expect(slower.printed.contains("⚠ cached-get               CPU µs/req × nginx   base 2.0  now 2.6  (+30.0 %, tolerance 15.0 %)  regressed"))
        #expect(slower.printed.contains("the base has one run"))
        let within = PerfGate(base: base, now: try Self.nginx(commit: "new", serverCPU: [22, 23, 22]), tolerancePercent: 15, strict: true, out: "o")
        #expect(within.document.rows.allSatisfy { $0.verdict == "same" } && !within.fails)
        let overlapping = PerfGate(base: base, now: try Self.nginx(commit: "new", serverCPU: [40, 40, 20]), tolerancePercent: 15, strict: false, out: "o")
        #expect(overlapping.document.rows.filter { $0.measure.hasPrefix("CPU") }.allSatisfy { $0.verdict == "same" } && !overlapping.fails)
        // Two sittings of the base 20 % apart (18 % of their median): the tolerance widens to twice that, and a 32 % change is no longer certain.
        let drifting = PerfGate.Base(runs: base.runs + [try Self.nginx(commit: "base", serverCPU: [24, 25, 23])])
        let wide = PerfGate(base: drifting, now: try Self.nginx(commit: "new", serverCPU: [29, 30, 28]), tolerancePercent: 15, strict: true, out: "o")
        #expect(wide.document.rows.first?.tolerance_percent == 36.4 && wide.document.rows.first?.change_percent == 31.8)
        #expect(wide.document.rows.first?.verdict == "same" && !wide.fails)
    }

    @Test("perf gate ACCEPT: replace makes this run the base, add appends a sitting of the same commit and refuses another")
    func perfGateAccept() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("perf-gate-base-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try PerfGate.accept(try Self.nginx(commit: "a", serverCPU: [20]), base: path, adding: true).hasSuffix("holds 1 run(s) of a"))
        #expect(try PerfGate.accept(try Self.nginx(commit: "a", serverCPU: [21]), base: path, adding: true).hasSuffix("holds 2 run(s) of a"))
        #expect(throws: UsageError.self) { try PerfGate.accept(try Self.nginx(commit: "b", serverCPU: [20]), base: path, adding: true) }
        #expect(try PerfGate.accept(try Self.nginx(commit: "b", serverCPU: [20]), base: path, adding: false).hasSuffix("holds 1 run(s) of b"))
        #expect(SummaryFiles.read(PerfGate.Base.self, from: path)?.runs.map(\.commit) == ["b"])
    }

    // MARK: the barrier, the day, the seeder, the anchors, diff's false alarms

    @Test("compare-barrier: medians of the rounds, the server as multiples of nginx, the goal's count; a round without a result shows –")
    func compareBarrier() throws {
        let run = { (p99: UInt64, cpu: Double) -> BenchResult in
            var phase = Self.phase("intake", p99: p99)
            phase.target_cpu = TargetCPUReport(source: "pid 1", before: 0, after: cpu * 100 / 1e6, requests: 100)
            return Self.result([phase], ledger: ledger())
        }
        let summary = BarrierComparison(
            server: [run(300_000, 250), run(500_000, 260), nil], nginx: [run(20_000, 60), run(22_000, 62), run(21_000, 64)], users: 5_000, tickets: 100,
            commit: "abc")
        let d = summary.document
        #expect(d.median.server.p99_ms == 400 && d.median.nginx.p99_ms == 21 && d.server_vs_nginx.p99 == 19.05 && d.goal.rounds_within == 1)
        #expect(summary.markdown.contains("Goal: intake p99 ≤ 400 ms in every round — **1 of 3**."))
        #expect(summary.markdown.contains("| 3 | – | – | – | – | 2.1 ms | 21.0 ms | 64.0 µs | no |"), "\(summary.markdown)")
        #expect(d.server_vs_nginx.cpu_per_request == 4.11 && summary.printed.hasPrefix("| CPU per request | 255.0 µs | 62.0 µs | 4.1× |"))
    }

    @Test("compare-day: each side's medians over the runs with a result, head ÷ base, and a run without one")
    func compareDay() throws {
        let run = { (p99: UInt64) -> BenchResult in
            var window = Self.phase("browse@rush", lane: "browse", p99: p99)
            window.generator = GeneratorCheck(
                cores_allowed: 2, cpu_mean: 0.9, cpu_max: 1, lag_p99_us: 0, lag_max_us: 0, wakes: 1, runqueue_wait: 0, reasons: p99 > 50_000 ? ["busy"] : [])
            return Self.result([Self.phase("rush", lane: "sale", p99: 200_000)], windows: [window])
        }
        let rows = [
            DayComparison.Row(side: "base", round: 1, report: "b1.json", result: run(40_000)),
            DayComparison.Row(side: "head", round: 1, report: "h1.json", result: run(20_000)),
            DayComparison.Row(side: "head", round: 2, report: nil, result: nil),
            DayComparison.Row(side: "base", round: 2, report: "b2.json", result: run(60_000)),
        ]
        let summary = DayComparison(rows: rows, base: "aaa", head: "bbb", events: 100_000, browseRate: 1_000, users: 5_000)
        #expect(summary.document.medians.base.browse_p99_us == 50_000 && summary.document.medians.head.runs == 1)
        #expect(summary.markdown.contains("| browse p99 | 50.0 ms | 20.0 ms | 0.40× |") && summary.markdown.contains("| 2 | head | no result | | | | | |"))
        #expect(summary.markdown.contains("| generator flagged (runs) | 1 of 2 | 0 of 1 | |"))
        #expect(throws: UsageError.self) { try DayComparison.Row(item: "base-1-x.json") }
    }

    @Test("seed-vs-copy: medians of the runs, the seeder's rate over \\copy's, the verdict")
    func seedVsCopy() throws {
        let run = { (total: Double, copy: Double) in
            SeedComparison.SeedRun(seconds: total, index_seconds: 4.86, tables: [.init(table: "users", seconds: 1), .init(table: "events", seconds: copy)])
        }
        let settings = SeedComparison.Settings(events: 1_000_000, users: 50_000, seed: 7, anchorDate: "2026-11-25", postgres: "15.20")
        let summary = try SeedComparison(
            seederRuns: [run(11.755, 6.586), run(12.5, 7.0), run(11.0, 6.0)], copySeconds: [9.592, 9.0, 10.0], settings: settings, measured: Self.measured)
        #expect(
            summary.document.ratio_events_rate == 1.46 && summary.document.verdict == "met" && summary.document.seeder.median_events_rows_per_second == 151_837)
        #expect(
            summary.markdown.contains("| `psql \\copy` of the same rows from CSV | **9.59 s = 104,253 rows/s** | 9.59, 9.00, 10.00 |"), "\(summary.markdown)")
        #expect(throws: UsageError.self) { try SeedComparison(seederRuns: [run(1, 1)], copySeconds: [], settings: settings) }
    }

    @Test("anchors: each limit from its script's file (the cached read from server-vs-nginx.json); a missing file says so and misses")
    func anchors() throws {
        let wrk = GeneratorFigures(wrk: try #require(WrkOutput(parsing: Self.wrk)), cpuSeconds: 9.5, duration: 10)
        let compare = GeneratorComparison(wrk: wrk, raw: wrk, curl: wrk, connections: 50, duration: 10, commit: "c", measured: Self.measured).document
        let drain = DrainSummary.Document(
            measured_at: "t", jobs_per_run: 1, pgbench_tps: 1_742, runs: [try .init(row: "batch|hot|3000|0.53|5673|ok", pgbenchTPS: 1_742)])
        let inputs = Anchors.Inputs(
            wrk: SummaryInput(path: "results/compare-wrk.json", value: compare),
            nginx: SummaryInput(path: "results/server-vs-nginx.json", value: try Self.nginx(commit: "c", serverCPU: [20], rps: 21_000)),
            drain: SummaryInput(path: "results/drain-bench.json", value: drain), seed: SummaryInput(path: "results/seed-vs-copy.json", value: nil))
        let summary = Anchors(inputs, measured: Self.measured)
        let anchors = summary.document.anchors
        #expect(anchors.map(\.ratio) == [1, 1, 0.35, 3.26, nil] && anchors.map(\.met) == [true, true, false, true, false])
        #expect(summary.markdown.contains("| cached GET vs nginx | 21,000 req/s | 60,000 req/s | **0.35** | ≥ 0.5 | MISSED |"))
        #expect(summary.markdown.contains("| seeder vs psql \\copy (events) | no result (results/seed-vs-copy.json) | – | **–** | ≥ 0.9 | MISSED |"))
        #expect(summary.markdown.contains("reaches 21,000 req/s = 0.35× nginx; the cached read runs at 1.0 of that floor."))
        #expect(summary.markdown.contains("[server-vs-nginx](server-vs-nginx.md)"))
    }

    @Test("diff's false alarms: five modes of same-build diffs over 100 runs, the power on a +10 % shift; fewer runs are refused")
    func diffFalseAlarms() throws {
        // 100 runs of one build: each second's figures wobble by ±1 % from run to run, the same way in every phase.
        let runs = try (0..<100).map { index -> BenchResult.Run in
            let wobble = 1 + Double((index * 37) % 11 - 5) / 500
            let phases = try ["latency", "throughput"].map { name -> PhaseResult in
                var phase = try DiffFixture.phase()
                phase.name = name
                phase.elapsed_seconds = 5
                phase.timeline = (0..<5).map { second in
                    let micros = UInt64(1_000 * wobble) + UInt64(second)
                    return PhaseResult.TimelinePoint(
                        second: second, requests: 1_000, errors: 0, p50_us: micros, p99_us: micros * 3, status_5xx: 0,
                        routes: [PhaseResult.RoutePoint(name: "detail", requests: 1_000, errors: 0, p50_us: micros, p99_us: micros * 3)])
                }
                return phase
            }
            return BenchResult.Run(label: "run \(index + 1)", target: "http://127.0.0.1:1", phases: phases, ledger: nil)
        }
        var result = Self.result([])
        result.runs = runs
        let summary = try DiffFalseAlarms(result: result, source: "/tmp/aa.json", command: "happening-bench run scenarios/homepage.yaml --repeat 100")
        #expect(summary.document.modes.map(\.diffs) == [20, 20, 20, 20, 10] && summary.document.source == "aa.json")
        #expect(summary.document.power.map(\.called_regressed) == [10, 10], "\(summary.document.power)")
        #expect(summary.markdown.contains("- latency / detail p50: called regressed in **10 of 10** diffs"))
        #expect(summary.printed.contains("five runs a side: 0 false alarms in 10 diffs (0 would fail a build)"), "\(summary.printed)")
        result.runs = Array(runs.prefix(99))
        #expect(throws: UsageError.self) { try DiffFalseAlarms(result: result, source: "x", command: "c") }
    }

    // MARK: fixtures

    /// A phase named `name` with `requests` answers (all 200), p50 a tenth of p99.
    static func phase(_ name: String, lane: String? = nil, p99: UInt64 = 10_000, requests: UInt64 = 100) -> PhaseResult {
        var phase = try! DiffFixture.phase()  // a recorder's phase: it cannot fail
        (phase.name, phase.lane, phase.requests, phase.statuses, phase.connections) = (name, lane, requests, ["200": requests], 10)
        phase.requests_per_second = Double(requests)
        phase.latency = LatencySummary(count: requests, min: 1, mean: Double(p99) / 5, p50: p99 / 10, p90: p99 / 2, p99: p99, p999: p99, p9999: p99, max: p99)
        return phase
    }

    static func result(_ phases: [PhaseResult], windows: [PhaseResult]? = nil, ledger: LedgerReport? = nil) -> BenchResult {
        BenchResult(
            scenario: "unit", description: nil, started_at: "2026-12-08T10:00:00Z", command: "test",
            machine: .init(hostname: "vm", cores: 2, memory_gib: 24, os: "Linux"), versions: .init(bench: "test", libcurl: "test"), variables: [:],
            runs: [BenchResult.Run(label: "run", target: "http://127.0.0.1:1", phases: phases, windows: windows, ledger: ledger)], ratios: nil, thresholds: [],
            passed: true)
    }

    static func json(_ value: some Encodable) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: try SummaryFiles.encoder.encode(value)) as? [String: Any])
    }
}
