import Foundation

/// The run as JUnit XML, the format CI systems read test results in (GitLab's test reports, Jenkins' junit step,
/// GitHub's test-reporter actions): one `<testsuite>` for the thresholds and one per run's ledger, one `<testcase>`
/// per threshold and per ledger invariant the run checked, and a `<failure>` carrying the message the other reports
/// print. Staleness limits are thresholds of the scenario (`staleness.max < 1s`), so each is a test case too.
struct JUnitReport {
    let result: BenchResult

    /// One test case: its name, its class (the suite's dotted name) and what broke it, if anything.
    struct Case {
        var name: String
        var failure: String?
        var type: String
        /// Not checked here, and why (a shard's ledger thresholds wait for `merge`).
        var skipped: String? = nil
    }

    /// A suite: a name, the stable part of its cases' class name (CI systems track a test's history by class and name,
    /// so no event id goes in it), how long it took, its cases.
    struct Suite {
        var name: String
        var className: String
        var seconds: Double
        var cases: [Case]
    }

    var suites: [Suite] {
        var suites: [Suite] = []
        let loadSeconds = result.runs.flatMap(\.phases).reduce(0) { $0 + $1.elapsed_seconds }
        if !result.thresholds.isEmpty {
            suites.append(
                Suite(
                    name: "thresholds", className: "thresholds", seconds: loadSeconds,
                    cases: result.thresholds.map {
                        Case(
                            name: $0.expression, failure: $0.passed ? nil : $0.message, type: "threshold",
                            skipped: $0.deferred == true ? $0.message : nil)
                    }))
        }
        for run in result.runs {
            guard let ledger = run.ledger else { continue }
            let invariants = ledger.invariants ?? ledger.violations.map { LedgerReport.Invariant(name: $0, violation: $0) }
            suites.append(
                Suite(
                    name: (result.runs.count > 1 ? "\(run.label) " : "") + "ledger \(ledger.event_id)",
                    className: (result.runs.count > 1 ? "\(run.label)." : "") + "ledger", seconds: ledger.waited_seconds,
                    cases: invariants.map { Case(name: $0.name, failure: $0.violation, type: "ledger") }))
        }
        for run in result.runs {
            guard let history = run.history else { continue }
            suites.append(
                Suite(
                    name: (result.runs.count > 1 ? "\(run.label) " : "") + "what customers were told \(history.event_id)",
                    className: (result.runs.count > 1 ? "\(run.label)." : "") + "history", seconds: 0,
                    cases: history.checks.map { check in
                        Case(
                            name: check.name,
                            failure: check.violations > 0
                                ? "\(check.violations) of \(check.checked): " + check.witnesses.map(RunTables.describe).joined(separator: " | ") : nil,
                            type: "history", skipped: check.skipped)
                    }))
        }
        return suites
    }

    func render() -> String {
        let suites = self.suites
        let cases = suites.flatMap(\.cases)
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        xml += "<testsuites name=\"\(MarkupText.escape("happening-bench " + result.scenario))\" tests=\"\(cases.count)\" "
        xml += "failures=\"\(cases.filter { $0.failure != nil }.count)\" errors=\"0\" time=\"\(Self.seconds(suites.reduce(0) { $0 + $1.seconds }))\">\n"
        for suite in suites {
            let className = "happening." + result.scenario + "." + suite.className
            xml += "  <testsuite name=\"\(MarkupText.escape(suite.name))\" tests=\"\(suite.cases.count)\" "
            xml += "failures=\"\(suite.cases.filter { $0.failure != nil }.count)\" errors=\"0\" "
            xml += "skipped=\"\(suite.cases.filter { $0.skipped != nil }.count)\" "
            xml += "time=\"\(Self.seconds(suite.seconds))\" timestamp=\"\(MarkupText.escape(Self.localTimestamp(result.started_at)))\" "
            xml += "hostname=\"\(MarkupText.escape(result.machine.hostname))\">\n"
            for testCase in suite.cases {
                xml += "    <testcase name=\"\(MarkupText.escape(testCase.name))\" classname=\"\(MarkupText.escape(className))\" time=\"0\""
                if let failure = testCase.failure {
                    xml += ">\n      <failure message=\"\(MarkupText.escape(failure))\" type=\"\(testCase.type)\">\(MarkupText.escape(failure))</failure>\n"
                    xml += "    </testcase>\n"
                } else if let skipped = testCase.skipped {
                    xml += ">\n      <skipped message=\"\(MarkupText.escape(skipped))\"/>\n    </testcase>\n"
                } else {
                    xml += "/>\n"
                }
            }
            xml += "  </testsuite>\n"
        }
        return xml + "</testsuites>\n"
    }

    private static func seconds(_ value: Double) -> String { String(format: "%.3f", max(0, value)) }

    /// JUnit's `timestamp` is an ISO 8601 time without a zone (`2026-12-03T14:00:00`); ours are UTC.
    private static func localTimestamp(_ iso: String) -> String { iso.hasSuffix("Z") ? String(iso.dropLast()) : iso }
}
