import Foundation
import HappeningCommandLine

/// `make diff-alarms`' summary (results/diff-false-alarms.{md,json}): how often `diff` cries wolf, from one A/A result
/// (`run --repeat N`, N ≥ 100: one build against one target). Every diff with `--fail-on-regression 5%`, in each mode:
///
/// - one run a side, no calibration: runs 4k against 4k+1, k < 20;
/// - the same pairs calibrated from runs 4k+2 and 4k+3 (interleaved with them), and from the last 20 runs (a later spell);
/// - two runs a side: 4k, 4k+1 against 4k+2, 4k+3 (blocked, base first, as CI runs them);
/// - five runs a side: 10k…10k+4 against 10k+5…10k+9.
///
/// A diff is a false alarm when it calls any line (regressed or improved) or would fail the build. Power: the five-a-side
/// pairs again, the new side's `detail` route p50 scaled by 1.10 second by second (a synthetic +10 % at this machine's real
/// noise), counted when that line is called regressed.
package struct DiffFalseAlarms: ScriptSummary {
    package struct Document: Codable, Sendable {
        var command: String
        var source: String
        var runs: Int
        var scenario: String
        var machine: BenchResult.Machine
        var bench: String
        var modes: [Mode]
        var power: [Power]
    }

    struct Mode: Codable, Sendable {
        var mode: String
        var diffs: Int
        var false_alarms: Int
        var failed_builds: Int
        /// Lines of the mode's last diff, and the median of the lines each diff could compare.
        var lines: Int
        var lines_compared_median: Int
        var alarms: [Alarm]
    }

    struct Alarm: Codable, Sendable {
        var diff: Int
        var base_runs: [Int]
        var new_runs: [Int]
        /// What `diff` would exit with: 1 when a regression fails the build.
        var exit: Int
        /// `phase/route metric verdict` of each line called.
        var called: [String]
    }

    struct Power: Codable, Sendable {
        var line: String
        var diffs: Int
        var called_regressed: Int
        var lines: [PowerLine]
    }

    struct PowerLine: Codable, Sendable {
        @NullWhenNil var change: RelativeChange?
        var verdict: String
    }

    typealias Pair = (base: [Int], new: [Int])

    package let document: Document

    /// The diffs of `result` (N ≥ 100 runs of one build) against itself; `source` is the file it came from.
    package init(result: BenchResult, source: String, command: String) throws {
        let count = result.runs.count
        guard count >= 100 else { throw UsageError("diff-false-alarms: \(source) holds \(count) runs; 20 diffs of five runs a side need 100") }
        let pairs: [Pair] = (0..<20).map { ([4 * $0], [4 * $0 + 1]) }
        let interleaved = try DiffCalibration.make(from: Self.subset(result, (0..<20).flatMap { [4 * $0 + 2, 4 * $0 + 3] }), source: "interleaved")
        let later = try DiffCalibration.make(from: Self.subset(result, Array(count - 20..<count)), source: "later")
        let fiveASide: [Pair] = (0..<count / 10).map { (Array(10 * $0..<10 * $0 + 5), Array(10 * $0 + 5..<10 * $0 + 10)) }
        let modes: [(String, [Pair], DiffCalibration?)] = [
            ("one run a side, no calibration", pairs, nil), ("one run a side, calibrated from runs interleaved with them", pairs, interleaved),
            ("one run a side, calibrated from the last 20 runs (a later spell)", pairs, later),
            ("two runs a side", (0..<20).map { ([4 * $0, 4 * $0 + 1], [4 * $0 + 2, 4 * $0 + 3]) }, nil), ("five runs a side", fiveASide, nil),
        ]
        document = Document(
            command: command, source: (source as NSString).lastPathComponent, runs: count, scenario: result.scenario, machine: result.machine,
            bench: result.versions.bench, modes: try modes.map { try Self.mode($0.0, pairs: $0.1, calibration: $0.2, result: result) },
            power: try ["latency", "throughput"].map { try Self.power(phase: $0, pairs: fiveASide, result: result) })
    }

    /// `result` with only the runs at `indices`; with `slower`, that phase's `detail` route p50 scaled by 1.10 every second.
    static func subset(_ result: BenchResult, _ indices: [Int], slower phase: String? = nil) -> BenchResult {
        var part = result
        part.runs = indices.map { result.runs[$0] }
        guard let phase else { return part }
        for run in part.runs.indices {
            for index in part.runs[run].phases.indices where part.runs[run].phases[index].name == phase {
                part.runs[run].phases[index].timeline = part.runs[run].phases[index].timeline.map { point in
                    var point = point
                    point.routes = point.routes?.map { route in
                        var route = route
                        if route.name == "detail" { route.p50_us = UInt64((Double(route.p50_us) * 1.10).rounded(.toNearestOrEven)) }
                        return route
                    }
                    return point
                }
            }
        }
        return part
    }

    /// One diff as `diff BASE NEW --fail-on-regression 5%` makes it.
    static func diff(_ base: BenchResult, _ new: BenchResult, calibration: DiffCalibration?) throws -> RunDiff {
        try RunDiff.compare(
            base: base, new: new, names: ("base", "new"), noise: 0.03, failOnRegression: 0.05, calibration: calibration.map { ($0, $0.source) })
    }

    private static func mode(_ name: String, pairs: [Pair], calibration: DiffCalibration?, result: BenchResult) throws -> Mode {
        var (alarms, compared, lines): ([Alarm], [Int], Int) = ([], [], 0)
        for (index, pair) in pairs.enumerated() {
            let diff = try diff(subset(result, pair.base), subset(result, pair.new), calibration: calibration)
            compared.append(diff.lines_compared)
            lines = diff.lines.count
            let called = diff.lines.filter { $0.verdict == .regressed || $0.verdict == .improved }.map {
                "\($0.phase)/\($0.route ?? "*") \($0.metric.rawValue) \($0.verdict.rawValue)"
            }
            let exit = diff.failures.isEmpty ? 0 : 1
            if exit != 0 || !called.isEmpty { alarms.append(Alarm(diff: index, base_runs: pair.base, new_runs: pair.new, exit: exit, called: called)) }
        }
        return Mode(
            mode: name, diffs: pairs.count, false_alarms: alarms.count, failed_builds: alarms.filter { $0.exit != 0 }.count, lines: lines,
            lines_compared_median: compared.sorted()[compared.count / 2], alarms: alarms)
    }

    private static func power(phase: String, pairs: [Pair], result: BenchResult) throws -> Power {
        let lines = try pairs.map { pair -> PowerLine in
            let diff = try diff(subset(result, pair.base), subset(result, pair.new, slower: phase), calibration: nil)
            let line = diff.lines.first { $0.phase == phase && $0.route == "detail" && $0.metric == .p50 }
            return PowerLine(change: line?.change, verdict: line?.verdict.rawValue ?? "no such line")
        }
        return Power(line: "\(phase) / detail p50", diffs: pairs.count, called_regressed: lines.filter { $0.verdict == "regressed" }.count, lines: lines)
    }

    package var markdown: String {
        let d = document
        var lines = [
            "# diff: false alarms on one build, in every mode", "",
            "\(d.runs) runs of one build of `\(d.scenario)` in a row (`\(d.command)`), bench \(d.bench), "
                + "machine \(d.machine.hostname) (\(d.machine.cores) cores, \(d.machine.memory_gib) GiB). "
                + "Every diff with `--fail-on-regression 5%`; a false alarm is a diff that calls any line (regressed or improved) or exits non-zero. "
                + "Calibrations come from other runs than the diffs they serve. Goal: at most 1 false alarm in 20 diffs in every mode.", "",
            "| mode | diffs | false alarms | would fail the build | lines per diff | lines compared (median) |", "|---|---|---|---|---|---|",
        ]
        lines += d.modes.map { "| \($0.mode) | \($0.diffs) | \($0.false_alarms) | \($0.failed_builds) | \($0.lines) | \($0.lines_compared_median) |" }
        lines += [
            "",
            "Power: five runs a side (the five-a-side pairs), the new side's p50 of one route scaled by 1.10 second by second — a synthetic "
                + "shift at this machine's real run-to-run noise (`Tests/BenchTests/DiffTests.swift` makes a real one on a test server):", "",
        ]
        lines += d.power.map { "- \($0.line): called regressed in **\($0.called_regressed) of \($0.diffs)** diffs" } + [""]
        for mode in d.modes {
            lines += mode.alarms.map {
                "- \(mode.mode), diff \($0.diff) (runs \($0.base_runs) vs \($0.new_runs)): exit \($0.exit); " + $0.called.joined(separator: "; ")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A line per mode and per power figure, as the long run goes.
    package var printed: String {
        (document.modes.map { "\($0.mode): \($0.false_alarms) false alarms in \($0.diffs) diffs (\($0.failed_builds) would fail a build)" }
            + document.power.map { "power: +10 % on \($0.line), five runs a side: called in \($0.called_regressed) of \($0.diffs)" })
            .joined(separator: "\n") + "\n"
    }
}
