import ArgumentParser
import Foundation
import HappeningSystem

extension BenchCommand {
    /// `diff BASE.json NEW.json`: did this change make it slower? Every phase, lane and route the two results share,
    /// req/s, p50 and p99 (and the ledger's decided/s), each with a 95 % interval and a verdict; exit 1 with
    /// `--fail-on-regression P%` only when a regression beyond P is certain at 95 %.
    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare two result files line by line with 95 % confidence intervals (a seeded bootstrap of per-second samples).")

        @Argument(help: "The base result (JSON written by run; several runs with run --repeat N).")
        var base: String

        @Argument(help: "The new result.")
        var new: String

        @Option(help: "Changes within ±this are never called improved or regressed (e.g. 3%).")
        var noise = "3%"

        @Option(help: "Exit 1 when a regression is certainly beyond this (e.g. 5%); without it diff only reports.")
        var failOnRegression: String?

        @Option(help: "Where the reports go.")
        var out = "results"

        mutating func run() async throws {
            let noise = try Self.fraction(noise, option: "--noise")
            let tolerance = try failOnRegression.map { try Self.fraction($0, option: "--fail-on-regression") }
            let names = ((base as NSString).lastPathComponent, (new as NSString).lastPathComponent)
            let diff = try RunDiff.compare(
                base: try BenchResult.load(base), new: try BenchResult.load(new), names: names, noise: noise, failOnRegression: tolerance)
            let report = DiffReport(diff: diff)
            let paths = try report.write(to: out)
            print(report.headline)
            for line in diff.lines where line.verdict == .regressed || line.verdict == .improved {
                print("  \(line.verdict.rawValue.uppercased()): \(line.place) \(line.metric.rawValue) " + (line.change.map { Self.describe($0) } ?? ""))
            }
            print("  reports: " + paths.joined(separator: ", "))
            if !diff.failures.isEmpty { throw ExitCode(1) }
        }

        /// `5%` or `0.05` as a fraction.
        static func fraction(_ text: String, option: String) throws -> Double {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            let value = trimmed.hasSuffix("%") ? Double(trimmed.dropLast()).map { $0 / 100 } : Double(trimmed)
            guard let value, value >= 0, value < 10 else { throw UsageError("\(option): '\(text)' is not a percentage (like 5%)") }
            return value
        }

        static func describe(_ change: RelativeChange) -> String {
            String(format: "%+.1f%% (95%% interval %+.1f%% … %+.1f%%)", change.change * 100, change.lower * 100, change.upper * 100)
        }
    }
}
