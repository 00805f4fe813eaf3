import ArgumentParser
import Foundation
import HappeningBench
import HappeningCommandLine
import HappeningSystem

extension BenchCommand {
    /// `merge A.json B.json …`: one result from several processes' (a fleet's shards among them).
    struct Merge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge result files from several processes (histograms combine exactly; a fleet's shards: the start skew, one ledger check).")

        @Argument(help: "Result JSON files.")
        var files: [String]

        @Option(help: "Where the merged reports go.")
        var out: String = "results/runs"

        @Option(help: "PostgreSQL URL for the shards' ledger check (default: $DATABASE_URL).")
        var databaseURL: String?

        @Option(help: "Also write JUnit XML here.")
        var junit: String?

        @Option(help: "Also write a short Markdown verdict here.")
        var summary: String?

        mutating func run() async throws {
            let database = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"]
            let merged = try await ResultMerger.merge(files, databaseURL: database, progress: .lines)
            let paths = try merged.write(to: out)
            print(Summary.text(merged, paths: paths))
            for line in try CIReports.write(merged, junit: junit, summary: summary) { print(line) }
            if !merged.passed { throw ExitCode(1) }
        }
    }
}
