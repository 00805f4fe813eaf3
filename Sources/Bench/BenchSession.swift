import Foundation
import HappeningHTTP
import HappeningLoad
import HappeningSystem
import PrometheusRemoteWrite

/// One invocation of `run` or `compare`: loads the scenario, runs setup once, runs every target in turn,
/// evaluates thresholds and builds the result.
struct BenchSession {
    let scenarioPath: String
    let settings: RunSettings

    /// - Parameter comparing: the targets are different servers (`compare`: ratios between them); false for repeats of one.
    func run(targets: [(label: String, url: String)], comparing: Bool = true) async throws -> BenchResult {
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

        let stop = CurlStopFlag()
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
    static func makeRunID(scenario: String, started: Date) -> String {
        let stamp = BenchResult.timestamp(started).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
        return "\(scenario)-\(stamp)-\(String(format: "%04x", UInt16.random(in: .min ... .max)))"
    }
}

/// Fails fast (exit 2) when a target does not answer at all.
enum Reachability {
    static func check(_ target: String, tls: TLSVerification = .system, http2PriorKnowledge: Bool = false) async throws {
        var request = HTTPClientRequest(url: target + "/api/health", timeout: .seconds(5), tls: tls)
        request.http2PriorKnowledge = http2PriorKnowledge
        do {
            _ = try await CurlHTTPClient.withClient { [request] in try await $0.send(request) }
        } catch {
            throw UsageError("cannot reach the target \(target) (\(error)); is the server running?")
        }
    }
}

/// The short summary printed at the end.
enum Summary {
    static func text(_ result: BenchResult, paths: (json: String, markdown: String, html: String)) -> String {
        var lines = ["happening-bench: \(result.scenario): \(result.passed ? "PASS" : "FAIL")"]
        for run in result.runs {
            for phase in run.phases.filter(\.recorded) + (run.windows ?? []) {
                lines.append(
                    "  \(result.runs.count > 1 ? run.label + " " : "")\(phase.name): \(Format.grouped(phase.requests)) requests, "
                        + "\(String(format: "%.1f", phase.requests_per_second)) req/s, errors \(Format.percent(phase.error_rate)), "
                        + "p50 \(Format.micros(phase.latency.p50)), p99 \(Format.micros(phase.latency.p99)), max \(Format.micros(phase.latency.max))"
                        + (phase.cacheHitRatio.map { ", cache hits \(Format.percent($0))" } ?? "") + (phase.late > 0 ? ", \(phase.late) late" : "")
                        + (phase.protocolNote.map { ", \($0)" } ?? "")
                        + (phase.target_cpu?.per_request_us.map { String(format: ", target CPU %.1f µs/req", $0) } ?? "")
                        + (phase.shard_start_skew_ms.map { String(format: ", %d processes, start skew %.2f ms", phase.processes, $0) } ?? "")
                        + (phase.memory.flatMap { memory in
                            // Below a thousand connections the process's fixed part dominates the figure.
                            memory.connections >= 1_000 ? ", \(Format.bytes(memory.peak_per_connection_bytes)) resident per connection" : nil
                        } ?? ""))
                if let slow = phase.slow_clients {
                    lines.append(
                        "    slow clients (\(slow.send)): \(slow.opened) opened, \(slow.closed_by_server) closed by the target"
                            + (slow.close_after.map { " (after p50 \(Format.micros($0.p50)), max \(Format.micros($0.max)))" } ?? "")
                            + ", \(slow.still_open) still open at the end" + (slow.connect_failures > 0 ? ", \(slow.connect_failures) could not connect" : ""))
                }
                if let byStatus = phase.status_latency, byStatus.count > 1 {
                    lines.append(
                        "    by status: "
                            + byStatus.map {
                                "\($0.status) ×\(Format.grouped($0.requests)) p50 \(Format.micros($0.latency.p50)) p99 \(Format.micros($0.latency.p99))"
                            }
                            .joined(separator: "; "))
                }
            }
            if let ledger = run.ledger {
                lines.append(
                    "  ledger \(ledger.event_id): total \(ledger.total_tickets), held \(ledger.held), available \(ledger.available_tickets), "
                        + "accepted \(ledger.accepted.map(String.init) ?? "–"), decided \(ledger.decided.map(String.init) ?? "–"), oversold \(ledger.oversold)"
                        + (ledger.decision_latency.map { ", decision p99 \(Format.micros($0.p99))" } ?? "")
                        + (ledger.decided_per_second.map { String(format: ", %.1f decided/s", $0) } ?? ""))
                if let lanes = ledger.lanes {
                    lines.append(
                        "    tickets won: " + lanes.map { "\($0.lane) \($0.tickets_won) (\(Format.percent($0.share)))" }.joined(separator: ", ")
                            + (ledger.max_tickets_per_user.map { "; the most one user holds: \($0)" } ?? ""))
                }
            }
            if let history = run.history {
                lines.append(
                    "  told: \(Format.grouped(UInt64(history.followed))) accepted bookings followed ("
                        + history.told.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "); "
                        + history.checks.map { check in
                            "\(check.metric) " + (check.skipped == nil ? "\(check.violations) of \(check.checkedText)" : "skipped")
                        }.joined(separator: ", "))
            }
            if let written = run.remote_write { lines.append("  " + written.sentence) }
            if let staleness = run.staleness {
                lines.append(
                    "  staleness \(staleness.event_id): \(staleness.reads) reads, \(staleness.stale) stale (max \(String(format: "%.1f", staleness.max_staleness_ms)) ms), "
                        + "\(staleness.understated) understated, \(staleness.shown_after_sold_out) shown after sold out")
            }
        }
        for (name, value) in (result.ratios ?? [:]).sorted(by: { $0.key < $1.key }) { lines.append("  ratio \(name): \(String(format: "%.2f", value))×") }
        for failure in result.failures { lines.append("  FAIL: \(failure)") }
        for warning in result.generatorWarnings { lines.append("  WARNING: \(warning)") }
        lines.append("  reports: \(paths.markdown), \(paths.html), \(paths.json)")
        return lines.joined(separator: "\n")
    }
}
