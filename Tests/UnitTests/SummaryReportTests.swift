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
