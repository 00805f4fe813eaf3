import Foundation
import HappeningCommandLine
import HappeningLoad
import HappeningSystem

/// A result file: `results/<UTC timestamp>-<scenario>.json`. Everything a report shows is in here,
/// histograms included, so reports can be rebuilt and results from several processes merged.
package struct BenchResult: Codable, Sendable {
    package var scenario: String
    var description: String?
    var started_at: String
    var command: String
    var machine: Machine
    var versions: Versions
    var variables: [String: String]
    var runs: [Run]
    /// cache-on ÷ cache-off figures, for `compare`.
    var ratios: [String: Double]?
    var thresholds: [ThresholdResult]
    package var passed: Bool
    /// This invocation's id (`--run-id`, or made up): the `run_id` label of its Prometheus series.
    var run_id: String? = nil

    /// One pass of the scenario against one target.
    struct Run: Codable, Sendable {
        var label: String
        var target: String
        var phases: [PhaseResult]
        /// A laned scenario's views: each lane over the whole run (`browse`) and over each other lane's phases
        /// (`browse@sale`), built from every request's sample.
        var windows: [PhaseResult]? = nil
        var ledger: LedgerReport?
        /// What readers were shown of the watched event's availability against the truth, if the scenario watches one.
        var staleness: StalenessReport? = nil
        /// What every customer of the sale was told, checked against the database (a ledger on Happening's schema).
        var history: CustomerHistoryReport? = nil
        /// The faults injected during the run, if the scenario had any.
        var faults: [FaultRunner.Event]? = nil
        /// What `--prometheus-remote-write` delivered during the run.
        var remote_write: RemoteWriteReport? = nil
        /// `--shard I/N`: this part's index and what `merge` checks the fleet's ledger with.
        var shard: ShardReport? = nil
    }

    package struct Machine: Codable, Sendable {
        package var hostname: String
        package var cores: Int
        package var memory_gib: Int
        var os: String

        package static var current: Machine {
            let info = ProcessInfo.processInfo
            return Machine(
                hostname: info.hostName, cores: info.activeProcessorCount,
                memory_gib: Int((Double(info.physicalMemory) / 1_073_741_824).rounded()), os: info.operatingSystemVersionString)
        }
    }

    struct Versions: Codable, Sendable {
        var bench: String
        var libcurl: String

        static var current: Versions { Versions(bench: BenchVersion.describe(), libcurl: libcurlVersion()) }
    }

    /// Failures that set the exit status, in words.
    var failures: [String] {
        var lines: [String] = []
        for run in runs { for violation in run.ledger?.violations ?? [] { lines.append((runs.count > 1 ? "\(run.label): " : "") + violation) } }
        for run in runs {
            for check in run.history?.checks ?? [] where check.violations > 0 {
                let first = check.witnesses.first.map { ": first, \(RunTables.describe($0))" } ?? ""
                lines.append((runs.count > 1 ? "\(run.label): " : "") + "\(check.name): \(check.violations) of \(check.checked)\(first)")
            }
        }
        for threshold in thresholds where !threshold.passed { lines.append("threshold \(threshold.expression): \(threshold.message)") }
        return lines
    }

    /// Phases and windows in which the Bench itself was the bottleneck, in words (warnings: they do not fail a run).
    var generatorWarnings: [String] {
        var lines: [String] = []
        for run in runs {
            for view in run.phases.filter(\.recorded) + (run.windows ?? []) {
                guard let check = view.generator, check.saturated else { continue }
                lines.append(
                    (runs.count > 1 ? "\(run.label): " : "") + "the generator was the bottleneck in \(view.name): " + check.reasons.joined(separator: "; "))
            }
        }
        return lines
    }

    package func write(to directory: String) throws -> (json: String, markdown: String, html: String) {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let stamp = started_at.replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "")
        let base = (directory as NSString).appendingPathComponent("\(stamp)-\(scenario)")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]  // compact: histograms make it long
        try encoder.encode(self).write(to: URL(fileURLWithPath: base + ".json"))
        try Data(MarkdownReport(result: self).render().utf8).write(to: URL(fileURLWithPath: base + ".md"))
        try Data(HTMLReport(result: self).render().utf8).write(to: URL(fileURLWithPath: base + ".html"))
        return (base + ".json", base + ".md", base + ".html")
    }

    /// A result file written by `run`, `compare`, `gate` or `merge`; a usage error naming the file otherwise.
    package static func load(_ path: String) throws -> BenchResult {
        guard let data = FileManager.default.contents(atPath: path) else { throw UsageError("cannot read \(path)") }
        do { return try JSONDecoder().decode(BenchResult.self, from: data) } catch { throw UsageError("\(path) is not a happening-bench result (\(error))") }
    }

    package static func timestamp(_ date: Date = Date()) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

/// The bench's version: the git commit it was built from when run inside the repository.
package enum BenchVersion {
    package static func describe() -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "describe", "--always", "--dirty"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "unknown" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && !text.isEmpty ? "git " + text : "unknown"
    }
}
