import Foundation
import HappeningHTTP
import HappeningLoad
import HappeningSystem
import PrometheusRemoteWrite

/// One invocation of `run` or `compare`: loads the scenario, runs setup once, runs every target in turn,
/// evaluates thresholds and builds the result.
package struct BenchSession {
    let scenarioPath: String
    let settings: RunSettings

    package init(scenarioPath: String, settings: RunSettings) { (self.scenarioPath, self.settings) = (scenarioPath, settings) }

    /// - Parameter comparing: the targets are different servers (`compare`: ratios between them); false for repeats of one.
    package func run(targets: [(label: String, url: String)], comparing: Bool = true) async throws -> BenchResult {
        let started = Date()
        // With --setup-dir, a `happening-bench setup` made the directory, the tokens and the captured values.
        let prepared = try settings.setupDirectory.map(SetupFile.load)
        let runDirectory =
            settings.setupDirectory
            ?? (settings.outputDirectory as NSString).appendingPathComponent(".run-\(Int(started.timeIntervalSince1970))-\(getpid())")
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        defer { if prepared == nil { try? FileManager.default.removeItem(atPath: runDirectory) } }
        let overrides = (prepared?.variables ?? [:]).merging(settings.variables) { _, given in given }
        let scenario = try Scenario.load(path: scenarioPath, overrides: overrides, runDirectory: runDirectory)
        for target in targets {
            try await Reachability.check(target.url, tls: settings.tls, http2PriorKnowledge: settings.http2(target: target.url)?.priorKnowledge ?? false)
        }

        let stop = StopFlag()
        signal(SIGINT, SIG_IGN)
        let signals = DispatchSource.makeSignalSource(signal: SIGINT)
        signals.setEventHandler {
            if stop.isStopped { _exit(130) }
            FileHandle.standardError.write(Data("\nbench: stopping (Ctrl-C again to quit at once)\n".utf8))
            stop.stop()
        }
        signals.resume()
        defer { signals.cancel() }

        let runID = settings.runID ?? Self.makeRunID(scenario: scenario.name, started: started)
        var runs: [BenchResult.Run] = []
        var variables: [String: String] = scenario.variables ?? [:]
        var users = VirtualUsers.none
        for (index, target) in targets.enumerated() {
            var perTarget = settings
            if index > 0 { perTarget.startAtMicros = nil }  // --start-at is the first target's
            var runner = ScenarioRunner(scenario: scenario, target: target.url, settings: perTarget, stop: stop)
            if let url = settings.remoteWriteURL {
                let labels = ["run_id": runID, "scenario": scenario.name, "target": target.url, "run": target.label]
                runner.metrics = RemoteWriteStream(client: try RemoteWriteClient(url: url, tls: settings.tls), labels: labels)
            }
            if index == 0 || scenario.ledger != nil {
                (variables, users) = try await runner.setUp(runDirectory: runDirectory, reusing: prepared != nil)
            }
            runs.append(try await runner.run(label: target.label, variables: variables, users: users))
        }

        let thresholds = Self.thresholds(scenario.thresholds ?? [], runs: runs)
        let ratios = comparing && runs.count == 2 ? Self.ratios(runs[0], runs[1]) : nil
        var result = BenchResult(
            scenario: scenario.name, description: scenario.description, started_at: BenchResult.timestamp(started),
            command: settings.commandLine, machine: .current, versions: .current,
            variables: variables.filter { $0.key != "run_dir" }, runs: runs, ratios: ratios, thresholds: thresholds, passed: true)
        result.run_id = runID
        result.passed = result.failures.isEmpty && !stop.isStopped
        if stop.isStopped {
            result.thresholds.append(ThresholdResult(expression: "completed", actual: nil, limit: 0, passed: false, message: "interrupted by Ctrl-C"))
        }
        return result
    }

    /// Every threshold against every run (prefixed with the run's label when there are several). A shard has no
    /// ledger of its own: what it cannot evaluate is deferred to `merge`, which checks the fleet's ledger.
    static func thresholds(_ expressions: [String], runs: [BenchResult.Run]) -> [ThresholdResult] {
        var thresholds: [ThresholdResult] = []
        for run in runs {
            for expression in expressions {
                var verdict = Thresholds.evaluate(
                    expression, phases: run.phases, windows: run.windows ?? [], ledger: run.ledger, staleness: run.staleness, history: run.history)
                if run.shard != nil, verdict.actual == nil, !verdict.passed {
                    verdict = ThresholdResult(
                        expression: expression, actual: nil, limit: verdict.limit, passed: true,
                        message: "deferred to merge (the fleet's ledger is checked over every shard)", deferred: true)
                }
                if runs.count > 1 { verdict.expression = "\(run.label): \(verdict.expression)" }
                thresholds.append(verdict)
            }
        }
        return thresholds
    }

    /// `compare`: per phase both runs have, cache-on ÷ cache-off throughput, and cache-off ÷ cache-on latency.
    static func ratios(_ a: BenchResult.Run, _ b: BenchResult.Run) -> [String: Double] {
        var values: [String: Double] = [:]
        for mine in a.phases where mine.recorded {
            guard let theirs = b.phases.first(where: { $0.name == mine.name }) else { continue }
            if theirs.requests_per_second > 0 {
                values["\(mine.name).requests_per_second"] = (mine.requests_per_second / theirs.requests_per_second * 100).rounded() / 100
            }
            if mine.latency.p50 > 0 { values["\(mine.name).p50_speedup"] = (Double(theirs.latency.p50) / Double(mine.latency.p50) * 100).rounded() / 100 }
            if mine.latency.p99 > 0 { values["\(mine.name).p99_speedup"] = (Double(theirs.latency.p99) / Double(mine.latency.p99) * 100).rounded() / 100 }
        }
        return values
    }

    /// `flash-sale-20261204T183646Z-3f9a`: the scenario, the start (UTC) and four random hex digits.
    package static func makeRunID(scenario: String, started: Date) -> String {
        let stamp = BenchResult.timestamp(started).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
        return "\(scenario)-\(stamp)-\(String(format: "%04x", UInt16.random(in: .min ... .max)))"
    }
}
