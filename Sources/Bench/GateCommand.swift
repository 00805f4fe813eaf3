import ArgumentParser
import Foundation
import HappeningBench
import HappeningCommandLine
import HappeningSystem
import Synchronization

extension BenchCommand {
    /// `gate SCENARIO --workers N`: the CI gate in one command. Starts a server and N workers on a booking queue and
    /// cache prefix of their own, waits for the server's health, runs the scenario against it (the workers' pid files
    /// go to the run, so a `kill-worker` fault can replace one), stops everything, and exits with the run's verdict:
    /// 0 every threshold and invariant held, 1 one failed (the report is printed) or the server never came up,
    /// 2 a usage problem. The services (PostgreSQL, Redis, RabbitMQ) must be running; `.run/env` says where.
    struct Gate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a server and N workers, run a scenario against them, stop them; the verdict is the exit status.")

        @Argument(help: "The scenario file (scenarios/*.yaml).")
        var scenario: String

        @Option(help: "Workers to start.")
        var workers = 2

        @Option(help: "The workers' booking strategy (for-update, conditional-update, batch, unsafe; happening-worker checks it).")
        var strategy = "for-update"

        @Option(help: "Each worker's prefetch.")
        var prefetch = 50

        @Option(help: "Bookings each worker decides at once.")
        var workerConcurrency = 4

        @Option(help: "Jobs per transaction for the batch strategy.")
        var batch: Int?

        @Option(
            name: .customLong("worker-argument"), parsing: .unconditionalSingleValue,
            help: "One more argument for every worker (repeatable), e.g. --worker-argument=--i-know-this-oversells.")
        var workerArguments: [String] = []

        @Option(help: "The server's port on 127.0.0.1.")
        var port = 5097

        @Option(name: .customLong("server-env"), help: "NAME=VALUE for the server only (repeatable), e.g. --server-env CACHE=off.")
        var serverEnvironment: [String] = []

        @Option(help: "Where the server's and workers' logs and pid files go.")
        var logs = ".run/gate"

        @Option(help: "The directory holding happening-server and happening-worker (default: this binary's).")
        var bin: String?

        @Option(help: "Seconds to wait for the server's /api/health.")
        var readyTimeout = 60

        @Option(help: "Workers serve /metrics on this port and the next ones (one each); default: not served.")
        var workerMetricsPort: Int?

        @Option(
            help:
                "Write the server and workers as Prometheus file_sd targets here while the gate runs (make prometheus reads .run/prometheus/targets/*.json)."
        )
        var prometheusTargets: String?

        @OptionGroup var options: LoadOptions

        mutating func run() async throws {
            guard (1...64).contains(workers) else { throw UsageError("--workers must be 1…64") }
            if let workerMetricsPort, !(1...(65_535 - workers)).contains(workerMetricsPort) {
                throw UsageError("--worker-metrics-port must be 1…\(65_535 - workers)")
            }
            let serverExtras = try serverEnvironment.map { item -> (String, String) in
                let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty else { throw UsageError("--server-env expects NAME=VALUE, got '\(item)'") }
                return (parts[0], parts[1])
            }
            try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
            let target = "http://127.0.0.1:\(port)"
            try options.validate(targets: [target])
            let tier = ProcessTier(directory: logs, binaries: bin ?? Self.ownDirectory())
            let guardian = TierGuardian(tier: tier)
            defer { guardian.finish() }

            // A queue and a cache prefix of the gate's own: nothing else consumes its jobs, and the workers forget
            // the server's cache entries under the same prefix.
            let shared = ["BOOKING_QUEUE": "gate_\(getpid())", "CACHE_PREFIX": "gate-\(getpid()):", "LOG_LEVEL": "error"]
            try await tier.ensureNothingAnswers(target)
            try tier.startServer(environment: shared.merging(["PORT": "\(port)"]) { $1 }.merging(serverExtras) { $1 })
            var workerArguments = ["--strategy", strategy, "--prefetch", "\(prefetch)", "--concurrency", "\(workerConcurrency)"]
            if let batch { workerArguments += ["--batch", "\(batch)"] }
            try tier.startWorkers(
                workers, arguments: workerArguments + self.workerArguments, environment: shared, metricsPorts: workerMetricsPort.map { $0..<($0 + workers) })
            try await tier.waitHealthy(target, timeout: .seconds(readyTimeout))
            if let prometheusTargets {
                try ScrapeTargets.write(
                    to: prometheusTargets, server: "127.0.0.1:\(port)",
                    workers: workerMetricsPort.map { first in (0..<workers).map { "127.0.0.1:\(first + $0)" } } ?? [],
                    labels: ["gate": "\(getpid())", "strategy": strategy])
            }
            defer { if let prometheusTargets { try? FileManager.default.removeItem(atPath: prometheusTargets) } }

            // Unbuffered, so it comes before the run's progress lines on stderr also when both go to one pipe.
            FileHandle.standardOutput.write(
                Data(
                    "== \((scenario as NSString).lastPathComponent) against a server on :\(port) and \(workers) '\(strategy)' workers (logs in \(logs))\n".utf8)
            )
            var options = options
            options.workerPids += tier.workerPidFiles
            if let server = tier.serverPID { options.targetPid.append(server) }  // the server's CPU per request in the report
            guardian.runStarted()
            let result = try await BenchSession(scenarioPath: scenario, settings: try options.settings()).run(targets: [("run", target)])
            let paths = try result.write(to: options.out)
            print(Summary.text(result, paths: paths))
            for line in try CIReports.write(result, junit: options.junit, summary: options.summary) { print(line) }
            guard result.passed else {
                print("== \(result.scenario) FAILED; the report (\(paths.markdown)):")
                print((try? String(contentsOfFile: paths.markdown, encoding: .utf8)) ?? "(unreadable)")
                throw ExitCode(1)
            }
        }

        private static func ownDirectory() -> String {
            URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        }
    }
}
