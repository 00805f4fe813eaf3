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
                DemoReport.self, FleetReport.self, DrainReport.self, CompareWrkReport.self, CompareTLSReport.self, CompareNginxReport.self, PerfGateReport.self,
                CompareBarrierReport.self, CompareDayReport.self, SeedVsCopyReport.self, AnchorsReport.self, DiffFalseAlarmsReport.self,
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

    /// `report compare-wrk`: the generator against wrk.
    struct CompareWrkReport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compare-wrk", abstract: "scripts/compare-wrk.sh's summary: the Bench (raw and curl engines) against wrk on one nginx file.")

        @Argument(help: "The script's work folder (wrk.out, wrk.time, bench-raw/, bench-raw.time, bench-curl/, bench-curl.time).")
        var work: String

        @Option(help: "Connections each generator held.")
        var connections: Int

        @Option(help: "Seconds each generator ran.")
        var duration: Int

        @Option(help: "The commit measured.")
        var commit: String

        @Option(help: "Where the summary goes (without extension).")
        var out = "results/compare-wrk"

        mutating func run() throws {
            try Report.emit(try GeneratorComparison(work: work, connections: connections, duration: duration, commit: commit), out: out)
        }
    }

    /// `report compare-tls`: the generator over TLS and HTTP/2 against wrk and h2load.
    struct CompareTLSReport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compare-tls", abstract: "scripts/compare-tls.sh's summary: the Bench over TLS against wrk, over HTTP/2 against h2load.")

        @Argument(help: "The script's work folder (wrk.out, h2load.out, their .time files, bench-raw/, bench-curl/, bench-h2/ and theirs).")
        var work: String

        @Option(help: "HTTP/1.1 connections each generator held.")
        var connections: Int

        @Option(name: .customLong("h2-connections"), help: "HTTP/2 TCP connections.")
        var h2Connections: Int

        @Option(help: "HTTP/2 streams per TCP connection.")
        var streams: Int

        @Option(help: "Seconds each generator ran.")
        var duration: Int

        @Option(help: "The commit measured.")
        var commit: String

        @Option(help: "Where the summary goes (without extension).")
        var out = "results/compare-tls"

        mutating func run() throws {
            let summary = try TLSComparison(
                work: work, connections: connections, h2Connections: h2Connections, streams: streams, duration: duration, commit: commit)
            try Report.emit(summary, out: out)
        }
    }

    /// `report compare-nginx`: the request path against nginx.
    struct CompareNginxReport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compare-nginx",
            abstract: "scripts/compare-nginx.sh's summary: CPU per request and req/s against nginx per pattern (also OUT.html).")

        @Argument(help: "The script's work folder (out/ROUND-TARGET-PATTERN.wrk and .cpu).")
        var work: String

        @Option(help: "wrk's connections.")
        var connections: Int

        @Option(help: "Seconds per measurement.")
        var duration: Int

        @Option(help: "Rounds run.")
        var rounds: Int

        @Option(name: .customLong("x-cache"), help: "The server's X-Cache answer to the cached read.")
        var xCache: String

        @Option(help: "The commit measured.")
        var commit: String

        @Option(help: "The server's INLINE_ANSWERS setting.")
        var inlineAnswers = "on"

        @Option(help: "Where the summary goes (without extension).")
        var out = "results/server-vs-nginx"

        mutating func run() throws {
            let settings = NginxComparison.Settings(
                connections: connections, duration: duration, rounds: rounds, xCache: xCache, commit: commit, inlineAnswers: inlineAnswers)
            let summary = try NginxComparison(work: work, settings: settings)
            try Report.emit(summary, out: out)
            try SummaryFiles.write(summary.html, to: out + ".html")
        }
    }

    /// `report perf-gate`: this build's request path against the accepted base.
    struct PerfGateReport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "perf-gate", abstract: "scripts/perf-gate.sh's verdicts: this build's compare-nginx rounds against the base's (exit 1 with --strict).")

        @Argument(help: "This build's compare-nginx JSON.")
        var now: String

        @Option(help: "The base: runs of the base build's compare-nginx JSON.")
        var base = "results/perf-gate-base.json"

        @Option(help: "The floor of every measure's tolerance, in percent.")
        var tolerance = 15.0

        @Flag(help: "Exit 1 when a measure certainly regressed.")
        var strict = false

        @Option(help: "Make this run the base first: replace (the base is this run) or add (another sitting of the base's commit).")
        var accept: Acceptance?

        @Option(help: "Where the verdicts go (without extension).")
        var out = "results/perf-gate"

        enum Acceptance: String, ExpressibleByArgument, CaseIterable {
            case replace, add
        }

        mutating func run() throws {
            guard let now = SummaryFiles.read(NginxComparison.Document.self, from: now) else { throw UsageError("\(self.now) is not compare-nginx JSON") }
            if let accept {
                do { print(try PerfGate.accept(now, base: base, adding: accept == .add)) } catch let error as UsageError {
                    FileHandle.standardError.write(Data("== perf gate: \(error)\n".utf8))
                    throw ExitCode(1)
                }
            }
            guard let base = SummaryFiles.read(PerfGate.Base.self, from: base), !base.runs.isEmpty else { throw UsageError("\(base) holds no base run") }
            let gate = PerfGate(base: base, now: now, tolerancePercent: tolerance, strict: strict, out: out)
            try Report.emit(gate, out: out)
            if gate.fails { throw ExitCode(1) }
        }
    }

    /// `report compare-barrier`: a sale's intake against nginx.
    struct CompareBarrierReport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compare-barrier", abstract: "scripts/compare-barrier.sh's summary: a sale's intake on the server against nginx, round by round.")

        @Argument(help: "The script's work folder (server/ROUND/ and nginx/ROUND/, each with a result).")
        var work: String

        @Option(help: "Rounds run.")
        var rounds: Int

        @Option(help: "Buyers at the barrier.")
        var users: Int

        @Option(help: "Tickets on sale.")
        var tickets: Int

        @Option(help: "The commit measured.")
        var commit: String

        @Option(help: "Where the summary goes (without extension).")
        var out = "results/barrier-vs-nginx"

        mutating func run() throws {
            try Report.emit(BarrierComparison(work: work, rounds: rounds, users: users, tickets: tickets, commit: commit), out: out)
            print("report: \(out).md, \(out).json")
        }
    }

    /// `report compare-day`: two builds through the flash-sale day.
    struct CompareDayReport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compare-day", abstract: "scripts/compare-day.sh's summary: two builds through the flash-sale day, each side's median.")

        @Argument(help: "Each run: SIDE=ROUND=RESULT.json (base or head; an empty path: no result).")
        var runs: [String] = []

        @Option(help: "The base build's commit.")
        var base: String

        @Option(help: "This checkout's commit.")
        var head: String

        @Option(help: "Events in the database.")
        var events: Int

        @Option(help: "The browse lane's rate (req/s).")
        var browseRate: Int

        @Option(help: "Users in the sale.")
        var users: Int

        @Option(help: "Where the summary goes (without extension).")
        var out = "results/day-ab"

        mutating func run() throws {
            let summary = try DayComparison(items: runs, base: base, head: head, events: events, browseRate: browseRate, users: users)
            try Report.emit(summary, out: out)
        }
    }

    /// `report seed-vs-copy`: the seeder against `psql \copy`.
    struct SeedVsCopyReport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "seed-vs-copy", abstract: "scripts/measure-seed.sh's summary: the seeder's events COPY against psql \\copy of the same rows.")

        @Argument(help: "Each seeder run's `happening-seed --json` output.")
        var seederRuns: [String] = []

        @Option(help: "Seconds of one psql \\copy run (repeatable).")
        var copySeconds: [Double] = []

        @Option(help: "Events loaded.")
        var events: Int

        @Option(help: "Users loaded.")
        var users: Int

        @Option(help: "The seeder's --seed.")
        var seed: Int

        @Option(help: "The seeder's --anchor-date.")
        var anchorDate: String

        @Option(help: "PostgreSQL's version (SHOW server_version).")
        var postgres: String

        @Option(help: "Where the summary goes (without extension).")
        var out = "results/seed-vs-copy"

        mutating func run() throws {
            let runs = try seederRuns.map { path in
                guard let run = SummaryFiles.read(SeedComparison.SeedRun.self, from: path) else {
                    throw UsageError("\(path) is not happening-seed --json output")
                }
                return run
            }
            let settings = SeedComparison.Settings(events: events, users: users, seed: seed, anchorDate: anchorDate, postgres: postgres)
            try Report.emit(try SeedComparison(seederRuns: runs, copySeconds: copySeconds, settings: settings), out: out)
        }
    }

    /// `report anchors`: our parts against their limits, from the four scripts' files.
    struct AnchorsReport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "anchors", abstract: "scripts/anchors.sh's summary: generator/wrk, cached GET/nginx, drain/pgbench, seeder/\\copy.")

        @Option(help: "scripts/compare-wrk.sh's JSON.")
        var compareWrk = "results/compare-wrk.json"

        @Option(help: "scripts/compare-nginx.sh's JSON.")
        var nginx = "results/server-vs-nginx.json"

        @Option(help: "scripts/drain-bench.sh's JSON.")
        var drain = "results/drain-bench.json"

        @Option(help: "scripts/measure-seed.sh's JSON.")
        var seed = "results/seed-vs-copy.json"

        @Option(help: "Where the summary goes (without extension).")
        var out = "results/anchors"

        mutating func run() throws {
            try Report.emit(Anchors(.init(wrk: compareWrk, nginx: nginx, drain: drain, seed: seed)), out: out)
        }
    }

    /// `report diff-false-alarms`: does `diff` cry wolf?
    struct DiffFalseAlarmsReport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff-false-alarms", abstract: "make diff-alarms' summary: diffs of one build against itself in every mode, and their power.")

        @Argument(help: "A result of N >= 100 runs of one build (run --repeat N).")
        var result: String

        @Option(help: "The command that made it, as the report states it.")
        var command: String

        @Option(help: "Where the summary goes (without extension).")
        var out = "results/diff-false-alarms"

        mutating func run() throws {
            try Report.emit(try DiffFalseAlarms(result: try BenchResult.load(result), source: result, command: command), out: out)
        }
    }
}
