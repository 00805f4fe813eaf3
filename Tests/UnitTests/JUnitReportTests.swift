import Foundation
import TestSupport
import Testing

@testable import HappeningBench

/// A result with one passing and one failing threshold (its message has XML's special characters) and a ledger whose
/// oversell invariant broke.
private func sampleResult() throws -> BenchResult {
    var report = ledger(oversold: 3)
    report.invariants = [
        .init(name: "held <= total (no oversell)", violation: "OVERSOLD by 3 tickets: 13 held (pending + confirmed) > 10 total"),
        .init(name: "available + held = total", violation: nil),
    ]
    report.violations = ["OVERSOLD by 3 tickets: 13 held (pending + confirmed) > 10 total"]
    let run = BenchResult.Run(label: "run", target: "http://127.0.0.1:5000", phases: [try phaseResult()], ledger: report)
    return BenchResult(
        scenario: "unit-sale", description: nil, started_at: "2026-12-03T14:00:00Z", command: "happening-bench run unit-sale.yaml",
        machine: .init(hostname: "ci-host", cores: 2, memory_gib: 24, os: "Linux"), versions: .init(bench: "test", libcurl: "test"),
        variables: [:], runs: [run], ratios: nil,
        thresholds: [
            ThresholdResult(expression: "oversold == 0", actual: 3, limit: 0, passed: false, message: "oversold = 3, limit == 0"),
            ThresholdResult(expression: "steady.p99 < 50ms", actual: 45_000, limit: 50_000, passed: true, message: "steady.p99 = 45.0ms"),
            ThresholdResult(
                expression: "steady.error_rate < 0.1%", actual: 0.005, limit: 0.001, passed: false,
                message: "steady.error_rate = 0.5% \"over\" <limit> & more"),
        ],
        passed: false)
}

/// `--junit` and `--summary`: what CI systems read.
@Suite("Bench: JUnit and CI summary", .timeLimit(.minutes(10)))
struct JUnitReportTests {
    @Test("JUnit XML validates against Tests/junit.xsd, has a case per threshold and ledger invariant, and failures carry the report's message")
    func junit() async throws {
        let result = try sampleResult()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("junit-\(TestEnvironment.uniqueSuffix()).xml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try JUnitReport(result: result).render().write(toFile: path, atomically: true, encoding: .utf8)
        let file = try await JUnitFile(path: path)
        #expect(
            file.cases == [
                .init(name: "oversold == 0", failure: "oversold = 3, limit == 0"),
                .init(name: "steady.p99 < 50ms", failure: nil),
                .init(name: "steady.error_rate < 0.1%", failure: "steady.error_rate = 0.5% \"over\" <limit> & more"),
                .init(name: "held <= total (no oversell)", failure: "OVERSOLD by 3 tickets: 13 held (pending + confirmed) > 10 total"),
                .init(name: "available + held = total", failure: nil),
            ])
        let xml = try String(contentsOfFile: path, encoding: .utf8)
        #expect(xml.contains(#"<testsuites name="happening-bench unit-sale" tests="5" failures="3" errors="0""#), "\(xml)")
        #expect(xml.contains(#"<testsuite name="ledger e" tests="2" failures="1""#), "\(xml)")
    }

    @Test("the schema check can fail: a test case without a name is refused")
    func schemaRefuses() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("junit-bad-\(TestEnvironment.uniqueSuffix()).xml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try #"<testsuites><testsuite name="x" tests="1"><testcase classname="c"/></testsuite></testsuites>"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        await #expect(throws: JUnitFile.Invalid.self) { _ = try await JUnitFile(path: path) }
    }

    @Test("the CI summary leads with the verdict and the failing lines, then the phases")
    func summary() throws {
        let text = CISummary(result: try sampleResult()).render()
        #expect(text.hasPrefix("### ✘ happening-bench unit-sale: FAIL"))
        let failing = try #require(text.range(of: "**Failing**"))
        let phases = try #require(text.range(of: "### Phases"))
        #expect(failing.lowerBound < phases.lowerBound)
        #expect(text.contains("- ✘ OVERSOLD by 3 tickets") && text.contains("- ✘ threshold oversold == 0: oversold = 3, limit == 0"))
        #expect(text.contains("Ledger e: held 10 of 10, oversold 3") && text.contains("1 of 2 invariants hold"))
        #expect(text.contains("Thresholds: 1 of 3 pass."))
    }

    @Test("the Markdown and HTML reports say which ledger invariants were checked and which broke")
    func reportsListInvariants() throws {
        let result = try sampleResult()
        let checked = "Checked: held &lt;= total (no oversell) ✘; available + held = total ✔."
        #expect(MarkdownReport(result: result).render().contains("Checked: held <= total (no oversell) ✘; available + held = total ✔."))
        #expect(HTMLReport(result: result).render().contains(checked))
    }
}
