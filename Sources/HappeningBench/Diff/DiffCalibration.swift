import Foundation
import HappeningCommandLine
import HappeningSystem

/// How far one run's figures land from the next on this machine, for this scenario: what `diff` needs to judge a
/// comparison with one run on a side. Made by `happening-bench calibrate` from an A/A result (one build, `run --repeat
/// N`): for every line `diff` compares, the variance of the runs' log figures and how many runs it rests on.
package struct DiffCalibration: Codable, Sendable {
    package var scenario: String
    package var machine: MachineIdentity
    var made_at: String
    /// The result file it was made from.
    var source: String
    package var runs: Int
    package var lines: [Line]

    package struct Line: Codable, Sendable, Equatable {
        var phase: String
        var lane: String?
        var route: String?
        package var metric: DiffMetric
        var runs: Int
        /// The variance of one run's figure, in logs (its square root is about the figure's relative spread).
        package var log_variance: Double
        /// The mean variance of a run's figure from its own seconds (nil for a figure a run gives once, like decided/s).
        var within_variance: Double?

        var key: DiffSamples.Key { DiffSamples.Key(phase: phase, lane: lane, route: route) }
    }

    /// The machine a calibration belongs to: noise measured on one machine says nothing of another's.
    package struct MachineIdentity: Codable, Sendable, Equatable {
        package var hostname: String
        var cores: Int
        /// `/etc/machine-id` where there is one.
        var machine_id: String?

        package static var current: MachineIdentity {
            let id = (try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            return MachineIdentity(hostname: ProcessInfo.processInfo.hostName, cores: ProcessInfo.processInfo.activeProcessorCount, machine_id: id)
        }
    }

    /// The fewest runs a calibration may rest on.
    static let minimumRuns = 5

    /// The calibration of `result`'s runs (one build, one target, at least ``minimumRuns`` runs).
    package static func make(from result: BenchResult, source: String) throws -> DiffCalibration {
        guard result.runs.count >= minimumRuns else {
            throw UsageError("calibrate: \(source) holds \(result.runs.count) run(s); calibrating needs \(minimumRuns) or more of one build (run --repeat N)")
        }
        guard Set(result.runs.map(\.target)).count == 1 else { throw UsageError("calibrate: \(source) holds runs against several targets") }
        var lines: [Line] = []
        for figures in DiffFigures.all(result.runs) {
            guard let side = ComparedSide(figures: figures.values), side.runs >= minimumRuns else { continue }
            let within = figures.within.isEmpty ? nil : figures.within.reduce(0, +) / Double(figures.within.count)
            lines.append(
                Line(
                    phase: figures.key.phase, lane: figures.key.lane, route: figures.key.route, metric: figures.metric, runs: side.runs,
                    log_variance: side.variance, within_variance: within))
        }
        return DiffCalibration(
            scenario: result.scenario, machine: .current, made_at: BenchResult.timestamp(), source: source, runs: result.runs.count, lines: lines)
    }

    /// The calibrated spread of one line, if it was measured.
    func spread(_ key: DiffSamples.Key, _ metric: DiffMetric) -> CalibratedSpread? {
        lines.first { $0.key == key && $0.metric == metric }.map { CalibratedSpread(variance: $0.log_variance, runs: $0.runs, within: $0.within_variance) }
    }

    /// Where calibrations of this machine are kept: `$XDG_STATE_HOME/happening/calibration` (else
    /// `~/.local/state/happening/calibration`), one file per scenario.
    package static func storedPath(scenario: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let state = environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.local/state")
        let safe = String(scenario.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        return "\(state)/happening/calibration/\(safe).json"
    }

    package static func load(_ path: String) throws -> DiffCalibration {
        do {
            return try JSONDecoder().decode(DiffCalibration.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw UsageError("calibration \(path): cannot read it (\(error.localizedDescription))")
        }
    }

    package func write(to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }
}
