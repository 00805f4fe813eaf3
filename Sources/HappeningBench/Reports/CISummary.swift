import Foundation
import HappeningCommandLine
import HappeningSystem

/// A short Markdown verdict for a CI job's summary page (GitHub's `$GITHUB_STEP_SUMMARY`, GitLab's job report): the
/// verdict, what failed first, then each run's phases and its ledger in one line.
struct CISummary {
    let result: BenchResult

    func render() -> String {
        var lines = ["### \(result.passed ? "✔" : "✘") happening-bench \(result.scenario): \(result.passed ? "PASS" : "FAIL")", ""]
        let failures = result.failures
        if !failures.isEmpty {
            lines += ["**Failing**", ""] + failures.map { "- ✘ \($0)" } + [""]
        }
        for warning in result.generatorWarnings { lines.append("- ⚠ \(warning)") }
        if !result.generatorWarnings.isEmpty { lines.append("") }
        for run in result.runs {
            let title = result.runs.count > 1 ? "\(run.label): phases" : "Phases"
            lines += RunTables.phases(run, title: title).markdown
            if let ledger = run.ledger {
                let checked = ledger.invariants.map { "\($0.filter(\.passed).count) of \($0.count) invariants hold" } ?? ""
                lines.append(
                    "Ledger \(ledger.event_id): held \(ledger.held) of \(ledger.total_tickets), oversold \(ledger.oversold), "
                        + "accepted \(ledger.accepted.map(String.init) ?? "–"), decided \(ledger.decided.map(String.init) ?? "–")"
                        + (checked.isEmpty ? "" : "; \(checked)") + ".")
                lines.append("")
            }
        }
        let passed = result.thresholds.filter(\.passed).count
        if !result.thresholds.isEmpty { lines.append("Thresholds: \(passed) of \(result.thresholds.count) pass.") }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The files CI systems read, written when `--junit` and `--summary` ask for them.
package enum CIReports {
    /// Writes them; returns a line per file written, for the printed summary.
    package static func write(_ result: BenchResult, junit: String?, summary: String?) throws -> [String] {
        var lines: [String] = []
        if let junit {
            try write(JUnitReport(result: result).render(), to: junit)
            lines.append("  junit: \(junit)")
        }
        if let summary {
            try write(CISummary(result: result).render(), to: summary)
            lines.append("  summary: \(summary)")
        }
        return lines
    }

    private static func write(_ text: String, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        do { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) } catch { throw UsageError("cannot write \(path): \(error.localizedDescription)") }
    }
}
