import Foundation

/// `diff`'s reports: a table of every line (the regressions first) in Markdown and HTML, the HTML with a forest
/// plot of each line's change and interval against the ±noise band, and the JSON.
package struct DiffReport {
    let diff: RunDiff

    package init(diff: RunDiff) { self.diff = diff }

    /// Regressed lines first, then improved, then the rest, each in the results' order.
    private var ordered: [DiffLine] {
        let rank: [DiffVerdict: Int] = [.regressed: 0, .improved: 1, .unchanged: 2, .inconclusive: 3]
        return diff.lines.enumerated().sorted { (rank[$0.element.verdict]!, $0.offset) < (rank[$1.element.verdict]!, $1.offset) }.map(\.element)
    }

    package var headline: String {
        let counts = Dictionary(grouping: diff.lines, by: \.verdict).mapValues(\.count)
        let parts = [DiffVerdict.regressed, .improved, .unchanged, .inconclusive].compactMap { verdict in counts[verdict].map { "\($0) \(verdict.rawValue)" } }
        let failed = diff.failures.isEmpty ? "" : " — FAIL: \(diff.failures.count) regressed beyond \(Format.percent(diff.fail_on_regression ?? 0))"
        return "diff \(diff.scenario): \(parts.joined(separator: ", "))\(failed)"
    }

    /// What to do about lines left inconclusive for want of runs (nil when there are none).
    package var warning: String? {
        guard diff.uncalibrated > 0 else { return nil }
        return "\(diff.uncalibrated) lines inconclusive: one run on a side and no calibration of this machine for them, so how far one run lands from "
            + "the next is unknown and nothing is called (a build never fails on them). For a verdict: run --repeat N on both sides, or calibrate "
            + "this machine once (happening-bench run SCENARIO --repeat 10 --out DIR, then happening-bench calibrate DIR/RESULT.json)."
    }

    var table: ReportTable {
        ReportTable(
            title: "\(diff.base) (\(diff.base_runs) run\(diff.base_runs == 1 ? "" : "s")) → \(diff.new) (\(diff.new_runs) run\(diff.new_runs == 1 ? "" : "s"))",
            note: "Method: \(diff.method). Noise: ±\(Format.percent(diff.noise))."
                + (diff.calibration.map { " Calibration: \($0)." } ?? "")
                + (diff.fail_on_regression.map { " Fails on a regression certainly beyond \(Format.percent($0))." } ?? "") + (warning.map { " \($0)" } ?? ""),
            header: ["where", "metric", "base", "new", "change", "interval (95 % for all lines together)", "verdict", "runs (base / new)"],
            rows: ordered.map { line in
                [
                    line.place, line.metric.rawValue, value(line.base, line.metric), value(line.new, line.metric),
                    line.pointChange.map { signed(line.change?.change ?? $0) } ?? "–",
                    line.change.map { "\(signed($0.lower)) … \(signed($0.upper))" } ?? "–", verdictText(line), "\(line.base_runs) / \(line.new_runs)",
                ]
            })
    }

    private func verdictText(_ line: DiffLine) -> String {
        guard line.verdict == .inconclusive else { return line.verdict.rawValue }
        switch line.note {
        case RunDiff.uncalibratedNote?: return "inconclusive: one run, not calibrated"
        case RunDiff.singleRunP99Note?: return "inconclusive: a p99 of one run"
        default: return "inconclusive: \(line.note ?? "no interval")"
        }
    }

    func markdown() -> String {
        (["## \(headline)", ""] + table.markdown).joined(separator: "\n")
    }

    func html() -> String {
        let status = diff.failures.isEmpty ? "<span class=\"pass\">PASS</span>" : "<span class=\"fail\">FAIL</span>"
        let body =
            "<h1>diff \(MarkupText.escape(diff.scenario)) \(status)</h1>\n<p class=\"meta\">\(MarkupText.escape(headline))</p>\n"
            + "<h2>Change with its interval (95 % for all lines together)</h2>\n" + forestPlot() + "<h2>Every line</h2>\n" + table.html
        return HTMLReport.page(title: "diff \(diff.scenario)", body: body)
    }

    /// One row per line with an interval: the ±noise band shaded, zero marked, the interval as a bar and the change
    /// as a dot, red when regressed and green when improved. Regressions are drawn on the right for every metric
    /// (a throughput drop is plotted as its negation), so "right is worse" holds for the whole chart.
    private func forestPlot() -> String {
        let lines = ordered.filter { $0.change != nil }
        guard !lines.isEmpty else { return "<p class=\"note\">No line has an interval\(warning.map { ": " + MarkupText.escape($0) } ?? ".")</p>\n" }
        func worse(_ value: Double, _ line: DiffLine) -> Double { line.metric.higherIsBetter ? -value : value }
        let extent = max(diff.noise * 2, lines.map { max(abs($0.change!.lower), abs($0.change!.upper)) }.max() ?? 0) * 1.1
        let (labelWidth, plotWidth, rowHeight) = (330.0, 540.0, 18.0)
        let height = Double(lines.count) * rowHeight + 40
        func x(_ value: Double) -> Double { labelWidth + (value + extent) / (2 * extent) * plotWidth }
        var svg = "<svg width=\"\(Int(labelWidth + plotWidth + 60))\" height=\"\(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">"
        svg += "<rect x=\"\(x(-diff.noise))\" y=\"10\" width=\"\(x(diff.noise) - x(-diff.noise))\" height=\"\(height - 30)\" fill=\"#f3f4f6\"/>"
        svg += "<line x1=\"\(x(0))\" y1=\"10\" x2=\"\(x(0))\" y2=\"\(height - 20)\" stroke=\"#6b7280\"/>"
        for tick in [-extent, -extent / 2, 0, extent / 2, extent] {
            svg += "<text x=\"\(x(tick))\" y=\"\(height - 6)\" text-anchor=\"middle\">\(MarkupText.escape(signed(tick)))</text>"
        }
        for (index, line) in lines.enumerated() {
            let y = 20 + Double(index) * rowHeight
            let change = line.change!
            let (low, high) = [worse(change.lower, line), worse(change.upper, line)].sorted().pair
            let color = line.verdict == .regressed ? "#dc2626" : line.verdict == .improved ? "#16a34a" : "#2563eb"
            svg += "<text x=\"4\" y=\"\(y + 4)\">\(MarkupText.escape("\(line.place) · \(line.metric.rawValue)"))</text>"
            svg += "<line x1=\"\(x(low))\" y1=\"\(y)\" x2=\"\(x(high))\" y2=\"\(y)\" stroke=\"\(color)\" stroke-width=\"3\"/>"
            svg += "<circle cx=\"\(x(worse(change.change, line)))\" cy=\"\(y)\" r=\"4\" fill=\"\(color)\"/>"
        }
        return svg
            + "</svg>\n<p class=\"note\">Right of zero is worse for every metric (slower, or fewer requests per second); the shaded band is ±noise.</p>\n"
    }

    private func value(_ value: Double?, _ metric: DiffMetric) -> String {
        guard let value else { return "–" }
        switch metric {
        case .p50, .p99: return Format.micros(UInt64(value.rounded()))
        case .requestsPerSecond, .decidedPerSecond: return String(format: "%.1f", value)
        }
    }

    private func signed(_ fraction: Double) -> String { String(format: "%+.1f%%", fraction * 100) }

    /// Writes `<stamp>-diff-<scenario>.{json,md,html}` into `directory`.
    package func write(to directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let stamp = BenchResult.timestamp().replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "")
        let base = (directory as NSString).appendingPathComponent("\(stamp)-diff-\(diff.scenario)")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try encoder.encode(diff).write(to: URL(fileURLWithPath: base + ".json"))
        try Data(markdown().utf8).write(to: URL(fileURLWithPath: base + ".md"))
        try Data(html().utf8).write(to: URL(fileURLWithPath: base + ".html"))
        return [base + ".md", base + ".html", base + ".json"]
    }
}

extension Array where Element == Double {
    /// The first two elements (a sorted pair).
    fileprivate var pair: (Double, Double) { (self[0], self[1]) }
}
