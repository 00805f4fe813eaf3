import Foundation
import HappeningCommandLine
import HappeningSystem
import Testing

@testable import Bench
@testable import HappeningBench

/// The t quantiles the intervals use, against the published table, and the interval itself.
@Suite("Bench: change intervals", .timeLimit(.minutes(10)))
struct ChangeIntervalTests {
    @Test("t quantiles match the table (two-sided 95 %: 12.706, 4.303, 2.228, 1.962; 99.5 % at df 10: 3.581)")
    func quantiles() {
        for (p, df, expected) in [(0.975, 1.0, 12.706), (0.975, 2.0, 4.303), (0.975, 10.0, 2.228), (0.975, 1000.0, 1.962), (0.9975, 10.0, 3.581)] {
            #expect(abs(StudentT.quantile(p, degreesOfFreedom: df) - expected) < 0.001, "p \(p) df \(df)")
        }
        #expect(abs(StudentT.cdf(0, degreesOfFreedom: 3) - 0.5) < 1e-12)
    }

    @Test("runs that agree: a narrow interval around the ratio; runs that disagree: wide enough to cover zero")
    func interval() throws {
        func change(_ a: [Double], _ b: [Double]) throws -> RelativeChange {
            ChangeInterval.change(base: try #require(ComparedSide(figures: a)), new: try #require(ComparedSide(figures: b)), confidence: 0.95)
        }
        let tight = try change([100, 101, 99], [120, 121, 119])
        #expect(abs(tight.change - 0.2) < 0.001 && tight.lower > 0.15 && tight.upper < 0.25, "\(tight)")
        let noisy = try change([80, 120], [90, 125])
        #expect(noisy.lower < 0 && noisy.upper > 0, "\(noisy)")
    }

    @Test("one run has no spread of its own: no side without a calibration; with one, the calibrated spread and its runs")
    func oneRun() throws {
        #expect(ComparedSide(figures: [100]) == nil)
        #expect(ComparedSide(figures: [100], calibrated: CalibratedSpread(variance: 0.01, runs: 1)) == nil, "a calibration of one run measured nothing")
        let calibrated = CalibratedSpread(variance: 0.0004, runs: 11, within: 0.0001)
        let side = try #require(ComparedSide(figures: [100], within: [0.0001], calibrated: calibrated))
        // At its upper 95 % bound: 10 degrees of freedom, chi-square's 5 % point 3.94, so 10 / 3.94 = 2.54 times.
        #expect(abs(side.variance / 0.0004 - 2.54) < 0.03 && side.degreesOfFreedom == 10, "\(side)")
        // A run whose seconds spread four times as much as the calibration's did: its spread between runs is taken as
        // four times as large too.
        let busy = try #require(ComparedSide(figures: [100], within: [0.0004], calibrated: calibrated))
        #expect(abs(busy.variance / side.variance - 4) < 1e-9)
        // Two single runs 2 % apart, each run varying by 2 % (log sd 0.02): far inside the interval.
        let change = ChangeInterval.change(
            base: side, new: try #require(ComparedSide(figures: [102], within: [0.0001], calibrated: calibrated)), confidence: 0.95)
        #expect(change.lower < 0 && change.upper > 0.04, "\(change)")
    }
}

/// `diff`'s verdicts on results made here: one run a side, calibrated or not; several runs; lines held together.
@Suite("Bench: diff verdicts", .timeLimit(.minutes(10)))
struct RunDiffVerdictTests {
    /// A result of `figures.count` runs of one phase `steady` with one route `r`, each run's seconds all at its
    /// figure (µs p50 and p99; 100 requests a second).
    private func result(_ figures: [Double], requests: [UInt64]? = nil) throws -> BenchResult {
        let runs = try figures.enumerated().map { index, figure -> BenchResult.Run in
            var phase = try DiffFixture.phase()
            let count = requests?[index] ?? 100
            phase.timeline = (0..<5).map { second in
                let micros = UInt64(figure)
                return PhaseResult.TimelinePoint(
                    second: second, requests: count, errors: 0, p50_us: micros, p99_us: micros, status_5xx: 0,
                    routes: [PhaseResult.RoutePoint(name: "r", requests: count, errors: 0, p50_us: micros, p99_us: micros)])
            }
            phase.elapsed_seconds = 5
            return BenchResult.Run(label: "run", target: "http://127.0.0.1:1", phases: [phase], ledger: nil)
        }
        return BenchResult(
            scenario: "unit-diff", description: nil, started_at: "2026-12-07T00:00:00Z", command: "test",
            machine: .init(hostname: "h", cores: 2, memory_gib: 1, os: "Linux"), versions: .init(bench: "test", libcurl: "test"), variables: [:],
            runs: runs, ratios: nil, thresholds: [], passed: true)
    }

    private func diff(_ a: [Double], _ b: [Double], calibration: DiffCalibration? = nil) throws -> RunDiff {
        try RunDiff.compare(
            base: try result(a), new: try result(b), names: ("a", "b"), noise: 0.03, failOnRegression: 0.05, calibration: calibration.map { ($0, "cal") })
    }

    @Test("one run a side without a calibration: a 50 % slowdown is inconclusive, nothing fails, the report says why and what to do")
    func oneRunUncalibrated() throws {
        let report = try diff([1_000], [1_500])
        #expect(report.lines_compared == 0 && report.failures.isEmpty)
        #expect(report.lines.allSatisfy { $0.verdict == .inconclusive && $0.note == RunDiff.uncalibratedNote }, "\(report.lines)")
        #expect(report.lines.contains { $0.metric == .p50 && abs(($0.pointChange ?? 0) - 0.5) < 1e-9 }, "the change is still shown")
        #expect(DiffReport(diff: report).warning?.contains("calibrate") == true)
    }

    @Test("one run a side with a calibration: a 50 % slowdown past a 2 % spread is called and fails; 1 % is not")
    func oneRunCalibrated() throws {
        let calibration = try DiffCalibration.make(from: try result([1_000, 1_020, 980, 1_010, 990, 1_000]), source: "aa.json")
        #expect(calibration.runs == 6 && !calibration.lines.isEmpty)
        let slower = try diff([1_000], [1_500], calibration: calibration)
        let line = try #require(slower.lines.first { $0.route == "r" && $0.metric == .p50 })
        #expect(line.verdict == .regressed && !slower.failures.isEmpty, "\(line)")
        let same = try diff([1_000], [1_010], calibration: calibration)
        #expect(same.lines.allSatisfy { $0.verdict == .unchanged || $0.metric == .p99 } && same.failures.isEmpty, "\(same.lines)")
        // A p99 of one run is not judged against a calibration, however far it moved.
        #expect(slower.lines.filter { $0.metric == .p99 }.allSatisfy { $0.verdict == .inconclusive && $0.note == RunDiff.singleRunP99Note })
    }

    @Test("several runs a side: each line's interval is at 1 - 5 %/m for the m lines compared")
    func heldTogether() throws {
        let report = try diff([1_000, 1_010, 990], [1_000, 1_005, 995])
        #expect(report.lines_compared == report.lines.count && report.lines_compared >= 4)
        #expect(abs(report.line_confidence - (1 - 0.05 / Double(report.lines_compared))) < 1e-12)
        #expect(report.lines.allSatisfy { $0.verdict == .unchanged }, "\(report.lines)")
        let slower = try diff([1_000, 1_010, 990], [1_200, 1_210, 1_190])
        #expect(slower.lines.contains { $0.route == "r" && $0.metric == .p50 && $0.verdict == .regressed })
    }

    @Test("counts that agree exactly within each side still have an interval: 90, 90 against 87, 87 requests a second is no certain change")
    func countResolution() throws {
        let report = try RunDiff.compare(
            base: try result([1_000, 1_000], requests: [90, 90]), new: try result([1_000, 1_000], requests: [87, 87]), names: ("a", "b"), noise: 0.03,
            failOnRegression: 0.01)
        let line = try #require(report.lines.first { $0.route == "r" && $0.metric == .requestsPerSecond })
        #expect(line.verdict == .unchanged && (line.change.map { $0.upper - $0.lower } ?? 0) > 0.01 && report.failures.isEmpty, "\(line)")
    }

    @Test("a calibration needs five runs of one build; it is found for this machine and scenario only")
    func calibrationRules() throws {
        #expect(throws: UsageError.self) { try DiffCalibration.make(from: try result([1_000, 1_010, 990, 1_000]), source: "x") }
        let path = DiffCalibration.storedPath(scenario: "flash sale/day", environment: ["XDG_STATE_HOME": "/s"])
        #expect(path == "/s/happening/calibration/flash_sale_day.json")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cal-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var calibration = try DiffCalibration.make(from: try result([1_000, 1_010, 990, 1_000, 1_005]), source: "x")
        try calibration.write(to: "\(directory)/mine.json")
        #expect(try BenchCommand.Diff.calibration("\(directory)/mine.json", scenario: "unit-diff")?.0.lines == calibration.lines)
        #expect(throws: UsageError.self) { try BenchCommand.Diff.calibration("\(directory)/mine.json", scenario: "other") }
        #expect(try BenchCommand.Diff.calibration("none", scenario: "unit-diff") == nil)
        calibration.machine.hostname = "another-host"
        #expect(calibration.machine != .current)
    }

    @Test("percentages parse for --noise and --fail-on-regression; nonsense is refused")
    func percentages() throws {
        #expect(try BenchCommand.Diff.fraction("5%", option: "--x") == 0.05)
        #expect(try BenchCommand.Diff.fraction("0.03", option: "--x") == 0.03)
        #expect(throws: (any Error).self) { try BenchCommand.Diff.fraction("five", option: "--x") }
        #expect(throws: (any Error).self) { try BenchCommand.Diff.fraction("-1%", option: "--x") }
    }
}

/// A phase result to rewrite (its timeline is replaced by the tests).
enum DiffFixture {
    static func phase() throws -> PhaseResult {
        let clock = PhaseClock(monotonicStart: 1_000_000_000, wallStartMicros: 1_800_000_000_000_000)
        let feed = LiveFeed()
        let recorder = PhaseRecorder(templates: [TemplateInfo(name: "r", weight: 1, expect: [200])], clock: clock, feed: feed)
        recorder.finish()
        return PhaseResult(phase: Scenario.Phase(name: "steady", model: .closed, connections: 1), recorders: [recorder], feed: feed, clock: clock, abandoned: 0)
    }
}
