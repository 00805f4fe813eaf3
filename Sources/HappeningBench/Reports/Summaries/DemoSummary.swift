import Foundation

/// `make demo`'s summary (results/demo-summary.{md,json}): the flash sale per worker strategy, the queue drained beside
/// pgbench, the homepage with the cache on and off, the flash-sale day's browse lane around the sale, and the chaos sale;
/// each from the result file its step wrote. A step whose file is missing or unreadable says it failed to run.
package struct DemoSummary: ScriptSummary {
    package struct Document: Codable, Sendable {
        var seconds_after_build: Int
        var flash_sales: [FlashSale] = []
        @NullWhenNil var drain: Drain?
        @NullWhenNil var homepage: Homepage?
        @NullWhenNil var flash_sale_day: Day?
        @NullWhenNil var chaos: Chaos?
    }

    struct FlashSale: Codable, Sendable {
        var strategy: String
        var report: String
        var passed: Bool
        @NullWhenNil var held: Int?
        @NullWhenNil var total: Int?
        @NullWhenNil var accepted: Int?
        @NullWhenNil var intake_p99_us: UInt64?
        @NullWhenNil var decision_p99_us: UInt64?
        @NullWhenNil var decided_per_second: Double?
        /// Every threshold with its verdict (the key's name is the one the file has always had).
        var failures: [ThresholdResult]
    }

    struct Drain: Codable, Sendable {
        var report: String
        var pgbench_tps: Int
        var runs: [DrainSummary.Run]
    }

    struct Homepage: Codable, Sendable {
        var report: String
        @NullWhenNil var ratios: [String: Double]?
        var passed: Bool
    }

    struct Day: Codable, Sendable {
        var report: String
        var passed: Bool
        var browse: [BrowseWindow]
        var failing_thresholds: [String]
    }

    /// The browse lane over one window of the day.
    struct BrowseWindow: Codable, Sendable {
        var window: String
        var p50_us: UInt64
        var p99_us: UInt64
        var max_us: UInt64
        var requests: UInt64
        var rps: Double
        var cache_hit_ratio: Double
        var late: UInt64
    }

    struct Chaos: Codable, Sendable {
        var report: String
        var passed: Bool
        @NullWhenNil var ledger: LedgerReport?
        @NullWhenNil var faults: [FaultRunner.Event]?
    }

    package private(set) var document: Document
    private var lines = ["# make demo"]

    package var markdown: String { lines.joined(separator: "\n") + "\n" }

    /// The summary of the given steps' files; nil inputs are steps that did not run (nothing is said of them).
    package init(
        secondsAfterBuild: Int, flashSales: [(strategy: String, input: SummaryInput<BenchResult>)], drain: SummaryInput<DrainSummary.Document>?,
        homepage: SummaryInput<BenchResult>?, day: SummaryInput<BenchResult>?, chaos: SummaryInput<BenchResult>?
    ) {
        document = Document(seconds_after_build: secondsAfterBuild)
        addFlashSales(flashSales)
        if let drain { addDrain(drain) }
        if let homepage, let result = homepage.value { addHomepage(result, path: homepage.path) }
        if let day { addDay(day) }
        if let chaos { addChaos(chaos) }
        lines += ["", "\(secondsAfterBuild) s after the build."]
    }

    private mutating func addFlashSales(_ sales: [(strategy: String, input: SummaryInput<BenchResult>)]) {
        lines += [
            "", "| worker strategy | verdict | held / total | accepted | intake p99 | decision p99 | decided/s (the sale's pace) |",
            "|---|---|---|---|---|---|---|",
        ]
        for (strategy, input) in sales {
            guard let result = input.value, let run = result.runs.first else {
                lines.append("| \(strategy) | FAILED TO RUN | | | | | |")
                continue
            }
            let intake = run.phases.first { $0.name == "intake" }
            let ledger = run.ledger
            document.flash_sales.append(
                FlashSale(
                    strategy: strategy, report: input.path, passed: result.passed, held: ledger?.held, total: ledger?.total_tickets, accepted: ledger?.accepted,
                    intake_p99_us: intake?.latency.p99, decision_p99_us: ledger?.decision_latency?.p99, decided_per_second: ledger?.decided_per_second,
                    failures: result.thresholds))
            lines.append(
                "| \(strategy) | \(result.passed ? "PASS" : "FAIL") | \(Self.text(ledger?.held)) / \(Self.text(ledger?.total_tickets)) | "
                    + "\(Self.text(ledger?.accepted)) | \(intake.map { Format.milliseconds(micros: $0.latency.p99) } ?? "–") | "
                    + "\(ledger?.decision_latency.map { Format.milliseconds(micros: $0.p99) } ?? "–") | "
                    + "\(ledger?.decided_per_second.flatMap { $0 == 0 ? nil : Format.plain($0) } ?? "–") |")
        }
    }

    /// The gate admits only the tickets, so a sale decides its bookings at the sale's pace: a full queue shows each
    /// strategy's own rate, beside pgbench running the same transaction on one row of the same PostgreSQL.
    private mutating func addDrain(_ input: SummaryInput<DrainSummary.Document>) {
        guard let drain = input.value else {
            lines += ["", "queue drain: FAILED TO RUN"]
            return
        }
        lines += [
            "",
            "| a full queue drained (\(Format.grouped(drain.jobs_per_run)) jobs) | one hot event, decided/s | × pgbench hot row | 50 events, decided/s | ledger |",
            "|---|---|---|---|---|",
        ]
        let strategies = drain.runs.reduce(into: [String]()) { if !$0.contains($1.strategy) { $0.append($1.strategy) } }
        for strategy in strategies {
            let hot = drain.runs.first { $0.strategy == strategy && $0.events == "hot" }
            let spread = drain.runs.first { $0.strategy == strategy && $0.events == "spread" }
            let ledgers = Set([hot?.ledger, spread?.ledger].compactMap { $0 }).sorted()
            lines.append(
                "| \(strategy) | \(hot.map { Format.grouped($0.decided_per_second) } ?? "–") | \(hot.map { "\($0.times_pgbench)" } ?? "–") | "
                    + "\(spread.map { Format.grouped($0.decided_per_second) } ?? "–") | \(ledgers.joined(separator: ", ")) |")
        }
        lines += ["", "pgbench, the same lock + update + insert on one row: \(Format.grouped(drain.pgbench_tps)) TPS"]
        document.drain = Drain(report: input.path, pgbench_tps: drain.pgbench_tps, runs: drain.runs)
    }

    private mutating func addHomepage(_ result: BenchResult, path: String) {
        lines += ["", "| homepage | req/s (closed) | p50 | p99 | p99 at a steady rate | cache hits |", "|---|---|---|---|---|---|"]
        for run in result.runs {
            guard let closed = run.phases.first(where: { $0.name == "throughput" }), let steady = run.phases.first(where: { $0.name == "latency" }) else {
                continue
            }
            let hits = Double(closed.cache_hits) / Double(max(1, closed.cache_hits + closed.cache_misses))
            lines.append(
                "| \(run.label) | \(Format.grouped(closed.requests_per_second, decimals: 0)) | \(Format.milliseconds(micros: closed.latency.p50)) | "
                    + "\(Format.milliseconds(micros: closed.latency.p99)) | \(Format.milliseconds(micros: steady.latency.p99)) | \(Format.wholePercent(hits)) |"
            )
        }
        let ratio = result.ratios?["throughput.requests_per_second"]
        lines += ["", "cache on ÷ cache off throughput: **\(ratio.map(Format.plain) ?? "None")×**"]
        document.homepage = Homepage(report: path, ratios: result.ratios, passed: result.passed)
    }

    /// The browse lane before, during and after the sale, and over the whole run (the windows the Bench builds from
    /// every request's sample).
    private mutating func addDay(_ input: SummaryInput<BenchResult>) {
        guard let result = input.value, let run = result.runs.first else {
            lines += ["", "flash-sale day: FAILED TO RUN"]
            return
        }
        let sale = run.phases.first { $0.lane == "sale" }?.name
        let windows = [
            ("before the sale", sale.map { "browse@before-\($0)" }), ("during the sale", sale.map { "browse@\($0)" }),
            ("after the sale", sale.map { "browse@after-\($0)" }), ("whole run", "browse"),
        ]
        lines += ["", "| flash-sale day: browse lane | requests | req/s | p50 | p99 | max | cache hits | late starts |", "|---|---|---|---|---|---|---|---|"]
        var browse: [BrowseWindow] = []
        for (label, name) in windows {
            guard let name, let window = run.windows?.first(where: { $0.name == name }) else { continue }
            let hits = Double(window.cache_hits) / Double(max(1, window.cache_hits + window.cache_misses))
            browse.append(
                BrowseWindow(
                    window: name, p50_us: window.latency.p50, p99_us: window.latency.p99, max_us: window.latency.max, requests: window.requests,
                    rps: window.requests_per_second, cache_hit_ratio: Format.rounded(hits, places: 4), late: window.late))
            lines.append(
                "| \(label) | \(Format.grouped(window.requests)) | \(Format.grouped(window.requests_per_second, decimals: 0)) | "
                    + "\(Format.milliseconds(micros: window.latency.p50)) | \(Format.milliseconds(micros: window.latency.p99)) | "
                    + "\(Format.milliseconds(micros: window.latency.max)) | \(Format.wholePercent(hits)) | \(Format.grouped(window.late)) |")
        }
        let failed = result.thresholds.filter { !$0.passed }.map(\.expression)
        lines += [
            "",
            "flash-sale day: \(result.passed ? "PASS" : "FAIL"); sale ledger held \(Self.text(run.ledger?.held)) / \(Self.text(run.ledger?.total_tickets)), "
                + "oversold \(Self.text(run.ledger?.oversold))" + (failed.isEmpty ? "" : "; failing: \(failed.joined(separator: ", "))"),
        ]
        document.flash_sale_day = Day(report: input.path, passed: result.passed, browse: browse, failing_thresholds: failed)
    }

    private mutating func addChaos(_ input: SummaryInput<BenchResult>) {
        guard let result = input.value, let run = result.runs.first else {
            lines += ["", "chaos flash sale: FAILED TO RUN"]
            return
        }
        let ledger = run.ledger
        let outage503 = run.phases.first { $0.name == "outage" }?.statuses["503"] ?? 0
        let recovered = run.phases.first { $0.name == "recovered" }
        let faults = (run.faults ?? []).map { "\($0.action) at " + String(format: "%.1f s", $0.started_at) + ($0.ok ? "" : " (FAILED)") }
        lines += [
            "", "| chaos flash sale | verdict | held / total | accepted (202) | decided | oversold | 503 during the outages | errors after recovery |",
            "|---|---|---|---|---|---|---|---|",
            "| 3 workers | \(result.passed ? "PASS" : "FAIL") | \(Self.text(ledger?.held)) / \(Self.text(ledger?.total_tickets)) | \(Self.text(ledger?.accepted)) | "
                + "\(Self.text(ledger?.decided)) | \(Self.text(ledger?.oversold)) | \(outage503) | \(recovered.map { "\($0.errors)" } ?? "–") |",
            "", "faults: \(faults.joined(separator: ", "))",
        ]
        document.chaos = Chaos(report: input.path, passed: result.passed, ledger: ledger, faults: run.faults)
    }

    /// A ledger figure, or `–` without a ledger.
    private static func text(_ value: Int?) -> String { value.map(String.init) ?? "–" }
}
