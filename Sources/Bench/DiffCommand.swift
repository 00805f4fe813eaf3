import ArgumentParser
import Foundation
import HappeningBench
import HappeningCommandLine
import HappeningSystem

extension BenchCommand {
    /// `diff BASE.json NEW.json`: did this change make it slower? Every phase, lane and route the two results share,
    /// req/s, p50 and p99 (and the ledger's decided/s), each with an interval and a verdict (``RunDiff``); exit 1 with
    /// `--fail-on-regression P%` only when a regression beyond P is certain — never on a line it cannot judge.
    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Compare two result files line by line: each run one sample, intervals that hold for all lines together; one run on a side needs a calibration."
        )

        @Argument(help: "The base result (JSON written by run; several runs with run --repeat N).")
        var base: String

        @Argument(help: "The new result.")
        var new: String

        @Option(help: "Changes within ±this are never called improved or regressed (e.g. 3%).")
        var noise = "3%"

        @Option(help: "Exit 1 when a regression is certainly beyond this (e.g. 5%); without it diff only reports.")
        var failOnRegression: String?

        @Option(
            help: ArgumentHelp(
                "How far runs differ on this machine, for sides with one run: auto (the calibration stored for this machine and scenario, if any), none, or a file from calibrate."
            ))
        var calibration = "auto"

        @Option(help: "Where the reports go.")
        var out = "results/runs"

        mutating func run() async throws {
            let noise = try Self.fraction(noise, option: "--noise")
            let tolerance = try failOnRegression.map { try Self.fraction($0, option: "--fail-on-regression") }
            let names = ((base as NSString).lastPathComponent, (new as NSString).lastPathComponent)
            let (baseResult, newResult) = (try BenchResult.load(base), try BenchResult.load(new))
            let diff = try RunDiff.compare(
                base: baseResult, new: newResult, names: names, noise: noise, failOnRegression: tolerance,
                calibration: try Self.calibration(calibration, scenario: newResult.scenario))
            let report = DiffReport(diff: diff)
            let paths = try report.write(to: out)
            print(report.headline)
            for line in diff.lines where line.verdict == .regressed || line.verdict == .improved {
                print("  \(line.verdict.rawValue.uppercased()): \(line.place) \(line.metric.rawValue) " + (line.change.map { Self.describe($0) } ?? ""))
            }
            if let warning = report.warning { print("  WARNING: \(warning)") }
            print("  reports: " + paths.joined(separator: ", "))
            if !diff.failures.isEmpty { throw ExitCode(1) }
        }

        /// The calibration `choice` names (with its path): `none`; `auto`, the one stored for `scenario` when it was made
        /// on this machine; or a file.
        static func calibration(_ choice: String, scenario: String) throws -> (DiffCalibration, String)? {
            switch choice {
            case "none": return nil
            case "auto":
                let path = DiffCalibration.storedPath(scenario: scenario)
                guard FileManager.default.fileExists(atPath: path) else { return nil }
                let stored = try DiffCalibration.load(path)
                return stored.machine == .current && stored.scenario == scenario ? (stored, path) : nil
            default:
                let given = try DiffCalibration.load(choice)
                guard given.scenario == scenario else {
                    throw UsageError("--calibration \(choice) calibrates scenario \(given.scenario), not \(scenario)")
                }
                return (given, choice)
            }
        }

        /// `5%` or `0.05` as a fraction.
        static func fraction(_ text: String, option: String) throws -> Double {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            let value = trimmed.hasSuffix("%") ? Double(trimmed.dropLast()).map { $0 / 100 } : Double(trimmed)
            guard let value, value >= 0, value < 10 else { throw UsageError("\(option): '\(text)' is not a percentage (like 5%)") }
            return value
        }

        static func describe(_ change: RelativeChange) -> String {
            String(format: "%+.1f%% (interval %+.1f%% … %+.1f%%)", change.change * 100, change.lower * 100, change.upper * 100)
        }
    }

    /// `calibrate RESULT.json`: measures how far runs of one build land from each other on this machine (an A/A result
    /// from `run --repeat N`) and keeps it, so that `diff` can judge a comparison with one run on a side.
    struct Calibrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure this machine's run-to-run noise from one build's repeated runs (run --repeat N, N >= 5), for diff with one run a side.")

        @Argument(help: "A result holding N >= 5 runs of one build against one target (run --repeat N).")
        var result: String

        @Option(help: "Where to keep it (default: this machine's store, which diff --calibration auto reads).")
        var out: String?

        mutating func run() async throws {
            let calibration = try DiffCalibration.make(from: try BenchResult.load(result), source: (result as NSString).lastPathComponent)
            let path = out ?? DiffCalibration.storedPath(scenario: calibration.scenario)
            try calibration.write(to: path)
            print("calibrate \(calibration.scenario): \(calibration.lines.count) lines from \(calibration.runs) runs on \(calibration.machine.hostname)")
            for metric in DiffMetric.allCases {
                let spreads = calibration.lines.filter { $0.metric == metric }.map { $0.log_variance.squareRoot() }.sorted()
                guard !spreads.isEmpty else { continue }
                print(
                    String(
                        format: "  %@: one run's figure varies by %.1f %% (median over %d lines; most %.1f %%)", metric.rawValue,
                        spreads[spreads.count / 2] * 100, spreads.count, spreads.last! * 100))
            }
            print("  kept in \(path)")
        }
    }
}
