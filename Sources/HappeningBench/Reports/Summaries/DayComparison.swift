import Foundation
import HappeningCommandLine

/// scripts/compare-day.sh's summary (results/day-ab.{md,json}): two builds through the flash-sale day, interleaved; per
/// run and as each side's median, the browse lane during the sale (p50, p90, p99), the sale's own p99 and whether the
/// generator was flagged in the sale's window. A run that wrote no result says so.
package struct DayComparison: ScriptSummary {
    static var measures: [(label: String, median: KeyPath<Medians, Double?>)] {
        [("browse p50", \.browse_p50_us), ("browse p90", \.browse_p90_us), ("browse p99", \.browse_p99_us), ("the sale's p99", \.sale_p99_us)]
    }

    package struct Document: Codable, Sendable {
        var base: String
        var head: String
        var events: Int
        var browse_rate: Int
        var users: Int
        var medians: Sides
        var runs: [Row]
    }

    struct Sides: Codable, Sendable {
        var base: Medians
        var head: Medians
    }

    /// One side's medians over the runs that wrote a result.
    struct Medians: Codable, Sendable {
        @NullWhenNil var browse_p50_us: Double?
        @NullWhenNil var browse_p90_us: Double?
        @NullWhenNil var browse_p99_us: Double?
        @NullWhenNil var sale_p99_us: Double?
        var runs: Int
        var generator_flagged: Int

        init(_ rows: [Row]) {
            let figures = { (key: KeyPath<Row, UInt64?>) in rows.compactMap { $0[keyPath: key] }.map { Double($0) }.median }
            (browse_p50_us, browse_p90_us, browse_p99_us, sale_p99_us) = (
                figures(\.browse_p50_us), figures(\.browse_p90_us), figures(\.browse_p99_us), figures(\.sale_p99_us)
            )
            (runs, generator_flagged) = (rows.count, rows.filter { $0.generator_flagged == true }.count)
        }
    }

    /// One run of one side: its browse lane during the sale and the sale's p99, or `no result`.
    package struct Row: Codable, Sendable {
        var side: String
        var round: Int
        @NullWhenNil var report: String?
        var browse_p50_us: UInt64?
        var browse_p90_us: UInt64?
        var browse_p99_us: UInt64?
        var browse_requests: UInt64?
        var sale_p99_us: UInt64?
        var generator_flagged: Bool?
        var error: String?

        /// compare-day.sh's `SIDE=ROUND=PATH` (an empty path: the run wrote no result).
        init(item: String) throws {
            let parts = item.split(separator: "=", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3, let round = Int(parts[1]) else { throw UsageError("a day run is SIDE=ROUND=PATH, not '\(item)'") }
            self.init(side: parts[0], round: round, report: parts[2].isEmpty ? nil : parts[2], result: SummaryFiles.result(parts[2]))
        }

        init(side: String, round: Int, report: String?, result: BenchResult?) {
            (self.side, self.round, self.report) = (side, round, report)
            guard let run = result?.runs.first, let sale = run.phases.first(where: { $0.lane == "sale" }),
                let window = run.windows?.first(where: { $0.name == "browse@\(sale.name)" })
            else {
                error = "no result"
                return
            }
            (browse_p50_us, browse_p90_us, browse_p99_us) = (window.latency.p50, window.latency.p90, window.latency.p99)
            (browse_requests, sale_p99_us, generator_flagged) = (window.requests, sale.latency.p99, !(window.generator?.reasons ?? []).isEmpty)
        }
    }

    package let document: Document

    init(rows: [Row], base: String, head: String, events: Int, browseRate: Int, users: Int) {
        let done = { (side: String) in rows.filter { $0.side == side && $0.error == nil } }
        document = Document(
            base: base, head: head, events: events, browse_rate: browseRate, users: users,
            medians: Sides(base: Medians(done("base")), head: Medians(done("head"))), runs: rows)
    }

    /// compare-day.sh's runs, each `SIDE=ROUND=PATH`.
    package init(items: [String], base: String, head: String, events: Int, browseRate: Int, users: Int) throws {
        self.init(rows: try items.map(Row.init(item:)), base: base, head: head, events: events, browseRate: browseRate, users: users)
    }

    package var markdown: String {
        let d = document
        let (base, head) = (d.medians.base, d.medians.head)
        let ms = { (micros: Double?) in micros.map { String(format: "%.1f ms", $0 / 1_000) } ?? "–" }
        var lines = [
            "# The flash-sale day, two builds interleaved: \(d.base) (base) and \(d.head) (head)", "",
            "`scripts/compare-day.sh`: \(d.runs.count / 2) rounds, each side once a round (in turn first); \(Format.grouped(d.events)) events, browse "
                + "\(Format.grouped(d.browse_rate)) req/s, a \(Format.grouped(d.users))-user sale, two for-update workers; this checkout's Bench for both. "
                + "Browse = the browse lane's requests due during the sale.", "",
            "| median | base | head | head ÷ base |", "|---|---|---|---|",
        ]
        for measure in Self.measures {
            let (b, h) = (base[keyPath: measure.median], head[keyPath: measure.median])
            let ratio = b.flatMap { b in b == 0 ? nil : h.map { String(format: "%.2f×", $0 / b) } } ?? "–"
            lines.append("| \(measure.label) | \(ms(b)) | \(ms(h)) | \(ratio) |")
        }
        lines.append("| generator flagged (runs) | \(base.generator_flagged) of \(base.runs) | \(head.generator_flagged) of \(head.runs) | |")
        lines += ["", "| round | side | browse p50 | p90 | p99 | requests | sale p99 | generator flagged |", "|---|---|---|---|---|---|---|---|"]
        for row in d.runs {
            guard row.error == nil else {
                lines.append("| \(row.round) | \(row.side) | no result | | | | | |")
                continue
            }
            let micros = { (value: UInt64?) in ms(value.map { Double($0) }) }
            lines.append(
                "| \(row.round) | \(row.side) | \(micros(row.browse_p50_us)) | \(micros(row.browse_p90_us)) | \(micros(row.browse_p99_us)) | "
                    + "\(row.browse_requests ?? 0) | \(micros(row.sale_p99_us)) | \(row.generator_flagged == true ? "yes" : "no") |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
