import ArgumentParser
import Foundation
import HappeningBench
import HappeningCommandLine

extension BenchCommand {
    /// `report KIND …`: the summaries the scripts print, rendered from result files: each writes `OUT.md` and `OUT.json`
    /// (the paths the scripts have always written) and prints the Markdown.
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Render a script's summary from result files: OUT.md and OUT.json, the Markdown printed.",
            subcommands: [
                DemoReport.self, FleetReport.self, DrainReport.self,
            ])

        /// Writes the summary's files and prints what it prints.
        static func emit(_ summary: some ScriptSummary, out: String) throws {
            try summary.write(to: out)
            print(summary.printed, terminator: "")
        }
    }

    /// `report demo`: `make demo`'s tables.
    struct DemoReport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "demo", abstract: "make demo's summary: the sale per strategy, the drain, the homepage, the flash-sale day, the chaos sale.")

        @Argument(help: "Each strategy's flash-sale result: STRATEGY=RESULT.json (an empty or unreadable path: FAILED TO RUN).")
        var flashSales: [String] = []

        @Option(help: "Seconds the demo took after its build.")
        var secondsAfterBuild: Int

        @Option(help: "The homepage compare result (cache on and off); empty: none.")
        var homepage: String?

        @Option(help: "The queue drain's JSON (scripts/drain-bench.sh); empty: not run.")
        var drain: String?

        @Option(help: "The flash-sale day's result; empty: not run.")
        var day: String?

        @Option(help: "The chaos flash sale's result; empty: not run.")
        var chaos: String?

        @Option(help: "Where the summary goes (without extension).")
        var out = "results/demo-summary"

        mutating func run() throws {
            let sales = try flashSales.map { item -> (strategy: String, input: SummaryInput<BenchResult>) in
                let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 2 else { throw UsageError("a flash sale is STRATEGY=RESULT.json, not '\(item)'") }
                return (parts[0], SummaryInput(reading: parts[1]))
            }
            let summary = DemoSummary(
                secondsAfterBuild: secondsAfterBuild, flashSales: sales, drain: .given(drain), homepage: .given(homepage), day: .given(day),
                chaos: .given(chaos))
            try Report.emit(summary, out: out)
        }
    }

    /// `report fleet`: `make fleet`'s merged sale and its shards.
    struct FleetReport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fleet", abstract: "make fleet's summary: the merged sale, each shard, the start skew, memory per connection, the ledger.")

        @Argument(help: "The merged result (happening-bench merge).")
        var merged: String

        @Option(help: "The fleet's work folder, holding shard-*/ with each shard's result.")
        var work: String

        @Option(help: "Users in the sale.")
        var users: Int

        @Option(help: "Tickets on sale.")
        var tickets: Int

        @Option(help: "The commit measured.")
        var commit: String

        @Option(help: "The generators' scheduling: realtime or a nice value.")
        var priority = "realtime"

        @Option(help: "Load loops per shard (0: the default).")
        var threads = 0

        @Option(help: "Descriptors a process may hold (ulimit -n).")
        var descriptorLimit = "?"

        @Option(help: "Where the summary goes (default: results/fleet, or results/fleet-priority-P for --priority P).")
        var out: String?

        mutating func run() throws {
            let settings = FleetSummary.Settings(
                users: users, tickets: tickets, commit: commit, priority: priority, threads: threads == 0 ? nil : threads, descriptorLimit: descriptorLimit)
            try Report.emit(try FleetSummary(mergedPath: merged, work: work, settings: settings), out: out ?? settings.out)
        }
    }

    /// `report drain`: the worker draining a full queue against pgbench.
    struct DrainReport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "drain", abstract: "scripts/drain-bench.sh's summary: decided/s per strategy and queue shape against pgbench's TPS.")

        @Argument(help: "Each run: STRATEGY|SHAPE|DECIDED|SECONDS|DECIDED_PER_SECOND|LEDGER.")
        var rows: [String] = []

        @Option(help: "Jobs queued per run.")
        var jobs: Int

        @Option(help: "pgbench's TPS on the hot row.")
        var pgbenchTps: Int

        @Option(help: "pgbench's clients.")
        var pgbenchClients: Int

        @Option(help: "The worker's --prefetch.")
        var prefetch: Int

        @Option(help: "The worker's --concurrency.")
        var concurrency: Int

        @Option(help: "The worker's --batch.")
        var batch: Int

        @Option(help: "Where the summary goes (without extension).")
        var out = "results/drain-bench"

        mutating func run() throws {
            let settings = DrainSummary.Settings(prefetch: prefetch, concurrency: concurrency, batch: batch, pgbenchClients: pgbenchClients)
            try Report.emit(try DrainSummary(rows: rows, jobs: jobs, pgbenchTPS: pgbenchTps, settings: settings), out: out)
        }
    }
}
