import Foundation

/// The human report as one self-contained HTML file with inline SVG charts: the latency percentile curve,
/// throughput over time, failures over time (5xx and unexpected answers per second, with the injected faults),
/// and, for a comparison, side-by-side bars.
struct HTMLReport {
    let result: BenchResult

    private static let colors = ["#2563eb", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be123c", "#4d7c0f", "#a16207"]

    func render() -> String {
        var body =
            "<h1>\(MarkupText.escape(result.scenario)) <span class=\"\(result.passed ? "pass" : "fail")\">\(result.passed ? "PASS" : "FAIL")</span></h1>\n"
        if let description = result.description { body += "<p>\(MarkupText.escape(description))</p>\n" }
        body +=
            "<p class=\"meta\">Started \(MarkupText.escape(result.started_at)) on \(MarkupText.escape(result.machine.hostname)) — \(result.machine.cores) cores, "
            + "\(result.machine.memory_gib) GiB; bench \(MarkupText.escape(result.versions.bench)), \(MarkupText.escape(result.versions.libcurl)).<br><code>\(MarkupText.escape(result.command))</code></p>\n"
        if !result.failures.isEmpty {
            body += "<div class=\"failures\"><b>Failures</b><ul>" + result.failures.map { "<li>\(MarkupText.escape($0))</li>" }.joined() + "</ul></div>\n"
        }
        let warnings = result.generatorWarnings
        if !warnings.isEmpty {
            body +=
                "<div class=\"warnings\"><b>Warnings: the generator held the load back</b><ul>" + warnings.map { "<li>\(MarkupText.escape($0))</li>" }.joined()
                + "</ul></div>\n"
        }
        body += "<h2>Latency by percentile</h2>\n" + latencyChart()
        body += "<h2>Throughput over time</h2>\n" + throughputChart()
        body += "<h2>Latency over time (p99 of each second)</h2>\n" + latencyOverTimeChart()
        if let cache = cacheChart() { body += "<h2>Cache hits per second</h2>\n" + cache }
        if let failures = failuresChart() { body += "<h2>Failures over time</h2>\n" + failures }
        if result.runs.count > 1 { body += "<h2>\(MarkupText.escape(result.runs.map(\.label).joined(separator: " vs ")))</h2>\n" + comparisonChart() }
        body += "<h2>Details</h2>\n" + details()
        return Self.page(title: result.scenario, body: body)
    }

    /// A self-contained page in the reports' one style (the run report and `diff`'s).
    static func page(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>\(MarkupText.escape(title)) — happening-bench</title>
        <style>
        body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; color: #111827; }
        h1 span { font-size: 0.6em; padding: 0.15em 0.5em; border-radius: 0.3em; color: white; vertical-align: middle; }
        .pass { background: #16a34a; } .fail { background: #dc2626; }
        .meta { color: #4b5563; } .failures { border-left: 4px solid #dc2626; padding: 0.2rem 1rem; background: #fef2f2; }
        .warnings { border-left: 4px solid #d97706; padding: 0.2rem 1rem; background: #fffbeb; margin-top: 0.5rem; }
        table { border-collapse: collapse; font-size: 12px; margin-bottom: 1rem; }
        th, td { border: 1px solid #e5e7eb; padding: 0.2rem 0.45rem; text-align: right; white-space: nowrap; }
        th { background: #f3f4f6; } td:first-child, th:first-child { text-align: left; }
        .note { color: #4b5563; font-size: 12px; } .violation { color: #dc2626; }
        svg { background: #ffffff; border: 1px solid #e5e7eb; } svg text { font-size: 11px; fill: #374151; }
        </style></head>
        <body>
        \(body)</body></html>
        """
    }

    /// The run's tables (phases, lanes and windows, routes, faults, ledger) and the thresholds, as HTML.
    private func details() -> String {
        var html = ""
        for run in result.runs {
            html += "<h3>\(MarkupText.escape((result.runs.count > 1 ? run.label + " — " : "") + run.target))</h3>\n"
            var tables = [RunTables.phases(run, title: "Phases")]
            if let windows = RunTables.windows(run) { tables.append(windows) }
            if let generator = RunTables.generator(run) { tables.append(generator) }
            if let routes = RunTables.routes(run) { tables.append(routes) }
            if let statuses = RunTables.statuses(run) { tables.append(statuses) }
            if let slow = RunTables.slowClients(run) { tables.append(slow) }
            if let faults = run.faults { tables.append(RunTables.faults(faults)) }
            if let ledger = run.ledger { tables.append(RunTables.ledger(ledger)) }
            if let lanes = run.ledger.flatMap(RunTables.laneTickets) { tables.append(lanes) }
            if let staleness = run.staleness { tables.append(RunTables.staleness(staleness)) }
            if let history = run.history { tables += RunTables.history(history) }
            html += tables.map(\.html).joined()
            if let responses = RunTables.responses(run) { html += "<p class=\"note\">\(MarkupText.escape(responses))</p>\n" }
            if let written = run.remote_write { html += "<p class=\"note\">\(MarkupText.escape(written.sentence))</p>\n" }
            for violation in run.ledger?.violations ?? [] { html += "<p class=\"violation\">✘ \(MarkupText.escape(violation))</p>\n" }
        }
        if let ratios = result.ratios, !ratios.isEmpty {
            html +=
                "<h3>Ratios (\(MarkupText.escape(result.runs.first?.label ?? "a")) ÷ \(MarkupText.escape(result.runs.last?.label ?? "b")))</h3><ul>"
                + ratios.sorted(by: { $0.key < $1.key }).map { "<li>\(MarkupText.escape($0.key)): <b>\(String(format: "%.2f", $0.value))×</b></li>" }.joined()
                + "</ul>\n"
        }
        if !result.thresholds.isEmpty {
            html +=
                "<h3>Thresholds</h3><ul>"
                + result.thresholds.map { threshold in
                    "<li class=\"\(threshold.passed ? "" : "violation")\">\(threshold.passed ? "✔" : "✘") <code>\(MarkupText.escape(threshold.expression))</code> — "
                        + "\(MarkupText.escape(threshold.message))</li>"
                }.joined() + "</ul>\n"
        }
        return html
    }

    /// Each recorded phase's (and the decision latency's) percentile curve, on a "nines" axis and a log latency axis.
    private func latencyChart() -> String {
        var series: [Series] = []
        for run in result.runs {
            let prefix = result.runs.count > 1 ? run.label + " " : ""
            for phase in run.phases where phase.recorded && phase.requests > 0 {
                series.append(Series(name: prefix + phase.name, points: curve(LatencyHistogram(phase.histogram))))
            }
            if let decision = run.ledger?.decision_histogram {
                series.append(Series(name: prefix + "decision (request → decided)", points: curve(LatencyHistogram(decision))))
            }
        }
        let ticks = [(0.0, "0%"), (1.0, "90%"), (2.0, "99%"), (3.0, "99.9%"), (4.0, "99.99%"), (5.0, "99.999%")]
        return Chart(series: series, xTicks: ticks, xLabel: "percentile", yLabel: "latency (ms, log scale)", logY: true).svg()
    }

    private func curve(_ histogram: LatencyHistogram) -> [(Double, Double)] {
        histogram.curve.map { point in
            let nines = point.percentile >= 100 ? 5.0 : min(5.0, -log10(1 - point.percentile / 100))
            return (nines, max(0.001, Double(point.micros) / 1000))
        }
    }

    /// Where the phases and faults sit on one clock: seconds since the run's first phase began.
    private struct TimelineLayout {
        var phases: [(name: String, phase: PhaseResult, offset: Double)] = []
        var faults: [(action: String, at: Double)] = []
        var maxSecond = 1.0

        init(_ result: BenchResult) {
            for run in result.runs {
                let origin = run.phases.map(\.started_at_micros).min() ?? 0
                let prefix = result.runs.count > 1 ? run.label + " " : ""
                for phase in run.phases where !phase.timeline.isEmpty {
                    let offset = Double(phase.started_at_micros - origin) / 1e6
                    phases.append((prefix + phase.name, phase, offset))
                    maxSecond = max(maxSecond, offset + phase.elapsed_seconds)
                }
                for fault in run.faults ?? [] {
                    // Faults count from the instant the load fired, which may be after the phase began.
                    let at = fault.at_micros.map { Double($0 - origin) / 1e6 } ?? fault.started_at
                    faults.append((fault.action, at))
                    maxSecond = max(maxSecond, at)
                }
            }
        }

        /// Each fault as a grey vertical line from 0 to `height`.
        func faultLines(height: Double) -> [Series] {
            faults.map { Series(name: "fault: \($0.action)", points: [($0.at, 0), ($0.at, height)], color: "#6b7280", label: $0.action) }
        }

        var ticks: [(Double, String)] {
            let step = max(1, (maxSecond / 8).rounded(.up))
            return stride(from: 0.0, through: maxSecond + step, by: step).map { ($0, "\(Int($0)) s") }
        }
    }

    /// Requests per second over the run (phases one after another), unexpected answers per second in red, faults
    /// as grey lines.
    private func throughputChart() -> String {
        let layout = TimelineLayout(result)
        var series: [Series] = []
        for (name, phase, offset) in layout.phases {
            // A phase's last second is usually partial: scale it to a rate, or leave it out when it is a sliver.
            let lastFraction = phase.elapsed_seconds - Double(phase.timeline.last?.second ?? 0)
            let points = phase.timeline.compactMap { point -> (Double, Double)? in
                guard point.second == phase.timeline.last?.second, lastFraction < 1 else {
                    return (offset + Double(point.second) + 0.5, Double(point.requests))
                }
                return lastFraction < 0.3 ? nil : (offset + Double(point.second) + lastFraction / 2, Double(point.requests) / lastFraction)
            }
            series.append(Series(name: name, points: points))
            if phase.errors > 0 {
                series.append(
                    Series(
                        name: name + " errors", points: phase.timeline.map { (offset + Double($0.second) + 0.5, Double($0.errors)) },
                        color: "#dc2626"))
            }
        }
        series += layout.faultLines(height: series.flatMap { $0.points.map(\.1) }.max() ?? 1)
        return Chart(
            series: series, xTicks: layout.ticks, xLabel: "time since the first phase began (a barrier phase opens its connections first)",
            yLabel: "requests per second", logY: false
        ).svg()
    }

    /// Each phase's p99 per second (log scale, by scheduled start), with the faults: where a stall sits on the run's clock.
    private func latencyOverTimeChart() -> String {
        let layout = TimelineLayout(result)
        var series: [Series] = []
        for (name, phase, offset) in layout.phases where phase.recorded {
            series.append(Series(name: name + " p99", points: phase.timeline.map { (offset + Double($0.second) + 0.5, max(0.001, Double($0.p99_us) / 1000)) }))
        }
        series += layout.faultLines(height: series.flatMap { $0.points.map(\.1) }.max() ?? 1)
        return Chart(series: series, xTicks: layout.ticks, xLabel: "time since the first phase began", yLabel: "p99 (ms, log scale)", logY: true).svg()
    }

    /// Per second, the share of `X-Cache` answers that were hits; nil when no answer carried `X-Cache`.
    private func cacheChart() -> String? {
        let layout = TimelineLayout(result)
        var series: [Series] = []
        for (name, phase, offset) in layout.phases where phase.recorded {
            let points = phase.timeline.compactMap { point -> (Double, Double)? in
                let seen = (point.cache_hits ?? 0) + (point.cache_misses ?? 0)
                return seen == 0 ? nil : (offset + Double(point.second) + 0.5, 100 * Double(point.cache_hits ?? 0) / Double(seen))
            }
            if !points.isEmpty { series.append(Series(name: name + " cache hits", points: points)) }
        }
        if series.isEmpty { return nil }
        series += layout.faultLines(height: 100)
        return Chart(
            series: series, xTicks: layout.ticks, xLabel: "time since the first phase began", yLabel: "% of answers with X-Cache: HIT", logY: false,
            yMaxFixed: 100
        ).svg()
    }

    /// Per second, the share of answers that were 5xx (amber: an outage the scenario allows shows here too) and
    /// that were unexpected (red), on 0–100 %, with the faults: what broke, when, and when it came back. Nil when
    /// a run had no fault, no 5xx and no error.
    private func failuresChart() -> String? {
        let layout = TimelineLayout(result)
        var series: [Series] = []
        for (name, phase, offset) in layout.phases {
            func share(_ count: (PhaseResult.TimelinePoint) -> UInt64) -> [(Double, Double)] {
                phase.timeline.map { (offset + Double($0.second) + 0.5, $0.requests == 0 ? 0 : 100 * Double(count($0)) / Double($0.requests)) }
            }
            if phase.timeline.contains(where: { ($0.status_5xx ?? 0) > 0 }) {
                series.append(Series(name: name + " 5xx", points: share { $0.status_5xx ?? 0 }, color: "#f59e0b"))
            }
            if phase.errors > 0 { series.append(Series(name: name + " unexpected", points: share(\.errors), color: "#dc2626")) }
        }
        if series.isEmpty && layout.faults.isEmpty { return nil }
        series += layout.faultLines(height: 100)
        return Chart(
            series: series, xTicks: layout.ticks, xLabel: "time since the first phase began (a barrier phase opens its connections first)",
            yLabel: "% of the second's answers", logY: false,
            yMaxFixed: 100
        ).svg()
    }

    /// For every recorded phase both runs have: requests per second, p50 and p99 side by side, as bars.
    private func comparisonChart() -> String {
        let names = result.runs[0].phases.filter(\.recorded).map(\.name).filter { name in result.runs.allSatisfy { $0.phases.contains { $0.name == name } } }
        let metrics: [(String, (PhaseResult) -> Double, (Double) -> String)] = [
            ("requests/s", { $0.requests_per_second }, { String(format: "%.0f", $0) }),
            ("p50 (ms)", { Double($0.latency.p50) / 1000 }, { String(format: "%.2f", $0) }),
            ("p99 (ms)", { Double($0.latency.p99) / 1000 }, { String(format: "%.2f", $0) }),
        ]
        let rowHeight = 28 * result.runs.count + 32
        var svg = "<svg width=\"900\" height=\"\(names.count * metrics.count * rowHeight + 20)\" xmlns=\"http://www.w3.org/2000/svg\">"
        var y = 10
        for name in names {
            let phases = result.runs.compactMap { run in run.phases.first { $0.name == name }.map { (run.label, $0) } }
            for metric in metrics {
                let values = phases.map { metric.1($0.1) }
                let top = max(values.max() ?? 1, 1e-9)
                svg += "<text x=\"10\" y=\"\(y + 14)\" font-weight=\"bold\">\(MarkupText.escape(name)): \(MarkupText.escape(metric.0))</text>"
                for (index, (label, _)) in phases.enumerated() {
                    let width = max(1, Int(values[index] / top * 600))
                    let barY = y + 22 + index * 28
                    svg += "<text x=\"10\" y=\"\(barY + 15)\">\(MarkupText.escape(label))</text>"
                    svg += "<rect x=\"150\" y=\"\(barY)\" width=\"\(width)\" height=\"22\" fill=\"\(Self.colors[index % Self.colors.count])\"/>"
                    svg += "<text x=\"\(158 + width)\" y=\"\(barY + 15)\">\(metric.2(values[index]))</text>"
                }
                y += rowHeight
            }
        }
        return svg + "</svg>\n"
    }

    struct Series {
        var name: String
        var points: [(Double, Double)]
        var color: String?
        /// Written beside the line's last point (e.g. which fault a grey line is).
        var label: String? = nil
    }

    /// A line chart with a legend.
    struct Chart {
        var series: [Series]
        var xTicks: [(Double, String)]
        var xLabel: String
        var yLabel: String
        var logY: Bool
        /// A fixed top of the y axis (e.g. 100 for percentages) instead of one fitted to the data.
        var yMaxFixed: Double? = nil

        func svg() -> String {
            let (width, height, left, right, top, bottom) = (900.0, 380.0, 70.0, 20.0, 20.0, 60.0)
            let all = series.flatMap(\.points)
            guard !all.isEmpty else { return "<p><i>No data.</i></p>\n" }
            let xMin = xTicks.first?.0 ?? 0
            let xMax = max(xTicks.last?.0 ?? 1, all.map(\.0).max() ?? 1)
            let yValues = all.map(\.1)
            let yMinRaw = logY ? max(0.001, yValues.min() ?? 0.001) : 0
            let yMaxRaw = max(yValues.max() ?? 1, logY ? yMinRaw * 10 : 1)
            let yMin = logY ? pow(10, floor(log10(yMinRaw))) : 0
            let yMax = yMaxFixed ?? (logY ? pow(10, ceil(log10(yMaxRaw))) : Self.nice(yMaxRaw * 1.05))
            func px(_ x: Double) -> Double { left + (x - xMin) / max(1e-9, xMax - xMin) * (width - left - right) }
            func py(_ y: Double) -> Double {
                let fraction = logY ? (log10(max(y, yMin)) - log10(yMin)) / max(1e-9, log10(yMax) - log10(yMin)) : (y - yMin) / max(1e-9, yMax - yMin)
                return height - bottom - fraction * (height - top - bottom)
            }
            var svg = "<svg width=\"\(Int(width))\" height=\"\(Int(height + 22 * Double((series.count + 2) / 3)))\" xmlns=\"http://www.w3.org/2000/svg\">"
            svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - right)\" y2=\"\(height - bottom)\" stroke=\"#9ca3af\"/>"
            svg += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(height - bottom)\" stroke=\"#9ca3af\"/>"
            for (value, label) in xTicks where value <= xMax {
                svg += "<line x1=\"\(px(value))\" y1=\"\(top)\" x2=\"\(px(value))\" y2=\"\(height - bottom)\" stroke=\"#f3f4f6\"/>"
                svg += "<text x=\"\(px(value))\" y=\"\(height - bottom + 16)\" text-anchor=\"middle\">\(MarkupText.escape(label))</text>"
            }
            var yTicks: [Double] = []
            if logY {
                var tick = yMin
                while tick <= yMax * 1.0001 {
                    yTicks.append(tick)
                    tick *= 10
                }
            } else {
                yTicks = (0...5).map { yMax * Double($0) / 5 }
            }
            for tick in yTicks {
                svg += "<line x1=\"\(left)\" y1=\"\(py(tick))\" x2=\"\(width - right)\" y2=\"\(py(tick))\" stroke=\"#f3f4f6\"/>"
                svg += "<text x=\"\(left - 6)\" y=\"\(py(tick) + 4)\" text-anchor=\"end\">\(Self.number(tick))</text>"
            }
            svg += "<text x=\"\((left + width) / 2)\" y=\"\(height - bottom + 36)\" text-anchor=\"middle\">\(MarkupText.escape(xLabel))</text>"
            svg +=
                "<text x=\"14\" y=\"\((top + height - bottom) / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 14 \((top + height - bottom) / 2))\">\(MarkupText.escape(yLabel))</text>"
            for (index, line) in series.enumerated() {
                let color = line.color ?? HTMLReport.colors[index % HTMLReport.colors.count]
                let path = line.points.map { String(format: "%.1f,%.1f", px($0.0), py($0.1)) }.joined(separator: " ")
                svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(path)\"/>"
                for point in line.points where line.points.count <= 40 {
                    svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%@\"/>", px(point.0), py(point.1), color)
                }
                if let label = line.label, let end = line.points.last {
                    svg +=
                        String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"%@\">", px(end.0) + 3, py(end.1) + 10, color)
                        + MarkupText.escape(label) + "</text>"
                }
                let legendX = left + Double(index % 3) * 280
                let legendY = height + 4 + Double(index / 3) * 22
                svg += "<rect x=\"\(legendX)\" y=\"\(legendY)\" width=\"14\" height=\"4\" fill=\"\(color)\"/>"
                svg += "<text x=\"\(legendX + 20)\" y=\"\(legendY + 6)\">\(MarkupText.escape(line.name))</text>"
            }
            return svg + "</svg>\n"
        }

        /// The next "nice" axis maximum (1, 2, 2.5 or 5 × 10ⁿ) at or above `value`.
        static func nice(_ value: Double) -> Double {
            guard value > 0 else { return 1 }
            let magnitude = pow(10, floor(log10(value)))
            for step in [1.0, 2.0, 2.5, 5.0, 10.0] where step * magnitude >= value { return step * magnitude }
            return 10 * magnitude
        }

        static func number(_ value: Double) -> String {
            if value >= 1000 { return Format.grouped(Int(value.rounded())) }
            if value >= 1 { return value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value) }
            return String(format: "%g", value)
        }
    }
}
