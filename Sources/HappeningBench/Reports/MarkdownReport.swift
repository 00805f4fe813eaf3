import Foundation

/// The human report in Markdown: verdict first, then per-run phase tables, the ledger and thresholds.
struct MarkdownReport {
    let result: BenchResult

    func render() -> String {
        var lines: [String] = []
        lines.append("# \(result.scenario): \(result.passed ? "PASS" : "FAIL")")
        lines.append("")
        if let description = result.description {
            lines.append(description)
            lines.append("")
        }
        lines.append(
            "Started \(result.started_at) on \(result.machine.hostname) (\(result.machine.cores) cores, \(result.machine.memory_gib) GiB, \(result.machine.os)); "
                + "bench \(result.versions.bench), \(result.versions.libcurl).")
        lines.append("")
        lines.append("Command: `\(result.command)`")
        lines.append("")
        if !result.failures.isEmpty {
            lines.append("**Failures**")
            lines.append("")
            for failure in result.failures { lines.append("- \(failure)") }
            lines.append("")
        }
        let warnings = result.generatorWarnings
        if !warnings.isEmpty {
            lines.append("**Warnings: the generator held the load back**")
            lines.append("")
            for warning in warnings { lines.append("- ⚠ \(warning)") }
            lines.append("")
        }
        for run in result.runs {
            lines.append("## \(result.runs.count > 1 ? run.label + " — " : "")\(run.target)")
            lines.append("")
            lines += RunTables.phases(run, title: "Phases").markdown
            if let windows = RunTables.windows(run) { lines += windows.markdown }
            if let generator = RunTables.generator(run) { lines += generator.markdown }
            if let routes = RunTables.routes(run) { lines += routes.markdown }
            if let statuses = RunTables.statuses(run) { lines += statuses.markdown }
            if let slow = RunTables.slowClients(run) { lines += slow.markdown }
            if let responses = RunTables.responses(run) {
                lines.append(responses)
                lines.append("")
            }
            if let faults = run.faults { lines += RunTables.faults(faults).markdown }
            if let written = run.remote_write { lines += [written.sentence, ""] }
            if let ledger = run.ledger {
                lines += RunTables.ledger(ledger).markdown
                if let lanes = RunTables.laneTickets(ledger) { lines += lanes.markdown }
                for violation in ledger.violations { lines.append("- ✘ \(violation)") }
                if !ledger.violations.isEmpty { lines.append("") }
            }
            if let staleness = run.staleness { lines += RunTables.staleness(staleness).markdown }
            if let history = run.history { lines += RunTables.history(history).flatMap(\.markdown) }
        }
        if let ratios = result.ratios, !ratios.isEmpty {
            lines.append("## Ratios (\(result.runs.first?.label ?? "a") ÷ \(result.runs.last?.label ?? "b"))")
            lines.append("")
            for (name, value) in ratios.sorted(by: { $0.key < $1.key }) { lines.append("- \(name): **\(String(format: "%.2f", value))×**") }
            lines.append("")
        }
        if !result.thresholds.isEmpty {
            lines.append("## Thresholds")
            lines.append("")
            for threshold in result.thresholds { lines.append("- \(threshold.passed ? "✔" : "✘") `\(threshold.expression)` — \(threshold.message)") }
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }
}
