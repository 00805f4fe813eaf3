import ArgumentParser
import Foundation
import HappeningBench
import HappeningCommandLine
import HappeningHTTP
import HappeningLoad
import HappeningSystem
import PrometheusRemoteWrite

/// `happening-bench`: replays scenarios against a Happening server over HTTP (libcurl multi), checks the
/// no-oversell ledger in PostgreSQL, and writes JSON + Markdown + HTML reports.
///
/// Exit status: 0 every threshold and invariant holds; 1 one failed (the message says which and by how
/// much), or the server a gate started never came up; 2 a usage or configuration error.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "happening-bench",
        abstract: "Load-tests a Happening server and checks that it never oversells.",
        subcommands: [
            Run.self, Gate.self, Compare.self, Diff.self, Calibrate.self, Setup.self, Merge.self, Fleet.self, CheckLedger.self, Check.self,
            HistoryBenchmark.self, Report.self,
        ])

    /// Parses, runs and maps every failure to the documented exit status.
    static func main() async {
        // A descriptor per open connection (each engine keeps a socket per connection open on its loop):
        // a 40,000-user barrier needs 40,000, far past the usual soft limit.
        OpenFileLimit.raise(toAtLeast: 262_144)
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand { try await command.run() } else { try command.run() }
        } catch let error as UsageError {
            FileHandle.standardError.write(Data("happening-bench: \(error)\n".utf8))
            Foundation.exit(2)
        } catch let error as GateError {
            FileHandle.standardError.write(Data("happening-bench: gate: \(error)\n".utf8))
            Foundation.exit(1)
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }
            FileHandle.standardError.write(Data("happening-bench: \(message(for: error))\n".utf8))
            Foundation.exit(2)
        }
    }

    /// Options shared by `run` and `compare`.
    struct LoadOptions: ParsableArguments {
        @Option(help: "PostgreSQL URL for pools and the ledger check (default: $DATABASE_URL).")
        var databaseURL: String?

        @Option(help: "Override every recorded closed/open phase's connections.")
        var connections: Int?

        @Option(help: "Override every open phase's rate (R or A..B requests/s).")
        var rate: String?

        @Option(help: "Override every recorded closed/open phase's duration (e.g. 20s).")
        var duration: String?

        @Option(help: "Loop threads (one event loop each).")
        var threads: Int = 1

        @Option(name: .customLong("set"), help: "Override a scenario variable: --set users=1000 (repeatable).")
        var variables: [String] = []

        @Option(help: "Allow a non-loopback target host (repeatable).")
        var allowHost: [String] = []

        @Option(help: "Where reports go.")
        var out: String = "results/runs"

        @Option(help: "Also write JUnit XML here: a test case per threshold and per ledger invariant (CI test reports).")
        var junit: String?

        @Option(help: "Also write a short Markdown verdict here: failing lines first, then the phases (a CI job summary).")
        var summary: String?

        @Option(help: "Start the first phase at this UTC time (ISO 8601), so several processes start together.")
        var startAt: String?

        @Option(help: "Run part I of N (0-based, like JOB_COMPLETION_INDEX): this share of every phase's connections, rate and users; merge the N results.")
        var shard: String?

        @Option(help: "Use what `happening-bench setup SCENARIO --dir DIR` prepared (values and tokens) instead of running the setup steps.")
        var setupDir: String?

        @Option(help: "Progress: auto (live on a terminal, lines otherwise), live, lines or none.")
        var progress: ProgressOption = .auto

        @Option(
            name: .customLong("engine"),
            help:
                "Load engine: raw (its own sockets, TLS through libcurl, Happening's HTTP/1.1 framing: least CPU per request; the default) or curl (every request a libcurl transfer; the default with --http2)."
        )
        var engineChoice: LoadEngine?

        @Flag(help: "HTTP/2 with multiplexing (the curl engine): h2 over TLS by ALPN for https targets, h2c with prior knowledge for http ones.")
        var http2 = false

        @Option(help: "With --http2: concurrent streams per TCP connection (the connections share ⌈connections ÷ streams⌉ TCP connections per loop thread).")
        var streams = 10

        /// The engine that runs: the one chosen, else curl for --http2 and raw otherwise.
        var engine: LoadEngine { engineChoice ?? (http2 ? .curl : .raw) }

        /// `--http2` for `target`.
        func multiplexing(target: String) -> HTTP2Multiplexing? {
            http2 ? HTTP2Multiplexing(streams: streams, priorKnowledge: target.lowercased().hasPrefix("http://")) : nil
        }

        @Flag(help: "Do not check an https target's certificate or host name (a self-signed target you do not control).")
        var insecure = false

        @Option(help: "Trust the certificates in this PEM file for an https target (instead of the system's).")
        var cacert: String?

        @Option(help: "Stream per-second series to this Prometheus remote-write URL while the run goes (e.g. http://127.0.0.1:30909/api/v1/write).")
        var prometheusRemoteWrite: String?

        @Option(
            name: .customLong("run-id"),
            help: "This run's id: the run_id label of its Prometheus series (default: the scenario, the UTC start time and a random suffix).")
        var runID: String?

        @Option(help: "The script a scenario's faults run (stop-cache → '<script> down redis' …).")
        var servicesScript: String = "scripts/services.sh"

        @Option(help: "A file holding a worker's pid, for the kill-worker fault (repeatable).")
        var workerPids: [String] = []

        @Option(help: "A target process on this machine whose CPU each phase reports per request (repeatable; gate adds its server).")
        var targetPid: [Int32] = []

        @Option(help: "A Prometheus text URL with the target's process_cpu_seconds_total, read before and after each phase (repeatable).")
        var targetMetrics: [String] = []

        /// Where the target's CPU is read, if anywhere.
        var targetCPU: TargetCPU? {
            let sources = targetPid.map(TargetCPU.Source.process) + targetMetrics.map(TargetCPU.Source.metrics)
            return sources.isEmpty ? nil : TargetCPU(sources: sources)
        }

        func overrides() throws -> [String: String] {
            var values: [String: String] = [:]
            for item in variables {
                let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty else { throw UsageError("--set expects name=value, got '\(item)'") }
                values[parts[0]] = parts[1]
            }
            return values
        }

        func startAtMicros() throws -> Int64? {
            guard let startAt else { return nil }
            guard let date = ISO8601DateFormatter().date(from: startAt) else {
                throw UsageError("--start-at must be an ISO 8601 UTC time like 2026-11-25T12:00:00Z")
            }
            return Int64(date.timeIntervalSince1970 * 1_000_000)
        }

        func validate(targets: [String]) throws {
            guard (1...64).contains(threads) else { throw UsageError("--threads must be 1…64") }
            if let connections, !(1...100_000).contains(connections) { throw UsageError("--connections must be 1…100000") }
            if let rate, RateSpec(rate) == nil { throw UsageError("--rate must be R or A..B (requests/s)") }
            if let duration, DurationText.parse(duration) == nil { throw UsageError("--duration must look like 500ms, 20s or 2m") }
            for target in targets { try TargetPolicy.check(target, allowed: allowHost) }
            if http2, engineChoice == .raw { throw UsageError("--http2 needs the curl engine: the raw engine speaks HTTP/1.1 only") }
            if !(1...1_000).contains(streams) { throw UsageError("--streams must be 1…1000") }
            if http2, !HTTP2Multiplexing.libcurlReusesPriorKnowledge, let cleartext = targets.first(where: { $0.lowercased().hasPrefix("http://") }) {
                throw UsageError(
                    "--http2 to \(cleartext) needs h2c with prior knowledge, which \(libcurlVersion()) breaks on every reused connection "
                        + "(curl/curl#10634, fixed in libcurl 8.0.0): use an https target (HTTP/2 by ALPN)")
            }
            if insecure, cacert != nil { throw UsageError("--insecure skips the certificate check that --cacert configures: give one") }
            if let cacert, !FileManager.default.isReadableFile(atPath: cacert) { throw UsageError("--cacert: cannot read \(cacert)") }
            if let prometheusRemoteWrite {
                do { _ = try RemoteWriteClient(url: prometheusRemoteWrite) } catch { throw UsageError("--prometheus-remote-write: \(error)") }
            }
            if let runID, runID.isEmpty || runID.count > 200 { throw UsageError("--run-id: 1 to 200 characters") }
            if let shard { _ = try Shard(parsing: shard) }
            if let setupDir { _ = try SetupFile.load(setupDir) }
        }

        /// The run's settings, as these options give them.
        func settings() throws -> RunSettings {
            var settings = RunSettings()
            settings.threads = threads
            settings.engine = engine
            settings.tls = tls
            settings.http2Streams = http2 ? streams : nil
            settings.startAtMicros = try startAtMicros()
            settings.shard = try shard.map(Shard.init(parsing:))
            settings.progress = progress.style
            (settings.connections, settings.rate, settings.duration) = (connections, rate, duration)
            settings.databaseURL = database
            (settings.servicesScript, settings.workerPidFiles) = (servicesScript, workerPids)
            settings.targetCPU = targetCPU
            settings.variables = try overrides()
            (settings.setupDirectory, settings.outputDirectory) = (setupDir, out)
            (settings.remoteWriteURL, settings.runID) = (prometheusRemoteWrite, runID)
            settings.commandLine = (["happening-bench"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
            return settings
        }

        /// How https targets' certificates are checked: on (the system's trust store) unless told otherwise.
        var tls: TLSVerification { insecure ? .off : cacert.map(TLSVerification.caFile) ?? .system }

        var database: String? { databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"] }
    }

    /// `run SCENARIO`: one target.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a scenario against a server and write reports.")

        @Argument(help: "The scenario file (scenarios/*.yaml).")
        var scenario: String

        @Option(help: "The server's base URL.")
        var target: String = "http://127.0.0.1:5000"

        @Option(help: "Run the scenario N times in a row (setup each time when it has a ledger), one result: diff then sees run-to-run noise.")
        var `repeat` = 1

        @OptionGroup var options: LoadOptions

        mutating func run() async throws {
            try options.validate(targets: [target])
            guard (1...100).contains(`repeat`) else { throw UsageError("--repeat: 1 to 100 runs") }
            if `repeat` > 1, options.setupDir != nil || options.shard != nil {
                throw UsageError("--repeat runs the setup each time: not with --setup-dir or --shard")
            }
            let labels = `repeat` == 1 ? ["run"] : (1...`repeat`).map { "run \($0)" }
            let result = try await BenchSession(scenarioPath: scenario, settings: try options.settings()).run(
                targets: labels.map { ($0, target) }, comparing: false)
            try finish(result, options: options)
        }
    }

    /// `compare SCENARIO --cache-on URL --cache-off URL`.
    struct Compare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the same scenario against a cache-on and a cache-off server; report both and the ratios.")

        @Argument(help: "The scenario file.")
        var scenario: String

        @Option(help: "A server started with CACHE=on.")
        var cacheOn: String

        @Option(help: "A server started with CACHE=off (same database).")
        var cacheOff: String

        @OptionGroup var options: LoadOptions

        mutating func run() async throws {
            try options.validate(targets: [cacheOn, cacheOff])
            let result = try await BenchSession(scenarioPath: scenario, settings: try options.settings()).run(targets: [
                ("cache-on", cacheOn), ("cache-off", cacheOff),
            ])
            try finish(result, options: options)
        }
    }

    /// `merge A.json B.json …`: combine results of the same scenario from several processes.
    /// `check-ledger --event ID …`: the invariant check alone, for one event or several.
    struct CheckLedger: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check events' ticket ledgers in PostgreSQL (exit 1 when one does not hold).")

        @Option(help: "An event id (repeatable).")
        var event: [String]

        @Option(help: "PostgreSQL URL (default: $DATABASE_URL).")
        var databaseURL: String?

        @Option(help: "A scenario whose ledger block maps another booking schema (schema: or sql:); default: Happening's schema.")
        var scenario: String?

        @Flag(help: "Print the ledger as JSON (an array when several events are given).")
        var json = false

        mutating func run() async throws {
            guard let url = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"] else {
                throw UsageError("pass --database-url or set DATABASE_URL")
            }
            guard !event.isEmpty else { throw UsageError("name at least one --event") }
            let source = try scenario.map { try Scenario.load(path: $0, overrides: [:], runDirectory: ".").ledger?.source() ?? .mapped(.happening) }
            let checker = LedgerChecker(databaseURL: url, source: source ?? .mapped(.happening))
            var ledgers: [LedgerReport] = []
            for id in event { ledgers.append(try await checker.check(event: id, run: .init(accepted: nil, timeout: .seconds(0)), progress: .none)) }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: ledgers.count == 1 ? try encoder.encode(ledgers[0]) : try encoder.encode(ledgers), as: UTF8.self))
            } else {
                for ledger in ledgers {
                    print(
                        "event \(ledger.event_id): total \(ledger.total_tickets), available \(ledger.available_tickets), held \(ledger.held); "
                            + "bookings: \(ledger.statusText)")
                    print(ledger.passed ? "ledger holds" : ledger.violations.map { "VIOLATION: \($0)" }.joined(separator: "\n"))
                }
            }
            if !ledgers.allSatisfy(\.passed) { throw ExitCode(1) }
        }
    }

    /// Asks a server for `/api/health` and prints what it says.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "GET /api/health on a server.")

        @Option(help: "The server's base URL.")
        var url = "http://127.0.0.1:5000"

        mutating func run() async throws {
            let url = url
            let response = try await CurlHTTPClient.withClient { try await $0.send(HTTPClientRequest(url: url + "/api/health", timeout: .seconds(5))) }
            print("\(response.status) \(response.text)")
            if response.status != 200 { throw ExitCode(1) }
        }
    }
}

/// Writes the reports, prints the summary and sets the exit status.
private func finish(_ result: BenchResult, options: BenchCommand.LoadOptions) throws {
    let paths = try result.write(to: options.out)
    print(Summary.text(result, paths: paths))
    for line in try CIReports.write(result, junit: options.junit, summary: options.summary) { print(line) }
    if !result.passed { throw ExitCode(1) }
}
