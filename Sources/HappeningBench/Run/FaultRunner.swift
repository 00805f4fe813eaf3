import Foundation
import HappeningCommandLine
import HappeningLoad
import HappeningSystem

/// Faults a scenario injects while its load runs (`faults:` in the YAML), at times counted from the moment the load
/// begins (the first phase's start; for a barrier, the instant every request leaves, once all connections are open):
///
/// | action | what runs |
/// |---|---|
/// | `stop-cache` / `start-cache` | `<services script> down redis` / `up redis` |
/// | `stop-broker` / `start-broker` | `<services script> down rabbitmq` / `up rabbitmq` |
/// | `restart-db` | `<services script> restart postgres` |
/// | `kill-worker` | SIGKILL one worker (a pid from `--worker-pids`); with `restart_after`, the same command line, environment and directory are started again after that long |
///
/// The services script is `scripts/services.sh` unless `--services-script` names another (its environment, e.g.
/// `REDIS_PORT`, passes through). Each action runs on a thread of its own, so a slow broker start never stalls the
/// load; what happened (when, how long, whether it worked) goes into the report.
struct FaultRunner: Sendable {
    /// One fault of the scenario.
    struct Step: Codable, Sendable {
        var at: String
        var action: FaultAction
        /// `kill-worker`: start it again after this long.
        var restart_after: String?
    }

    /// What one fault did.
    struct Event: Codable, Sendable {
        var action: String
        /// Seconds from the instant the load fired (a barrier phase fires once its connections are open), as planned and as started.
        var planned_at: Double
        var started_at: Double
        var duration_ms: Double
        /// Wall clock when it started (µs since 1970), to place it on the report's timeline.
        var at_micros: Int64?
        var ok: Bool
        var detail: String
    }

    let steps: [Step]
    let servicesScript: String
    /// Files holding worker pids (one per file), for `kill-worker`.
    let workerPidFiles: [String]
    let log: @Sendable (String) -> Void

    static func validate(_ steps: [Step]) throws {
        for step in steps {
            guard DurationText.parse(step.at) != nil else { throw UsageError("fault \(step.action.rawValue): at '\(step.at)' is not a duration (like 3s)") }
            if let text = step.restart_after {
                guard step.action == .killWorker, DurationText.parse(text) != nil else {
                    throw UsageError("fault \(step.action.rawValue): restart_after is a duration, and only for kill-worker")
                }
            }
        }
    }

    /// Waits for the load to begin, then runs every step at its time after that; returns what happened, in start
    /// order. Stops early on `stop`.
    func run(from signal: LoadStartSignal, stop: StopFlag) async -> [Event] {
        var events: [Event] = []
        if steps.isEmpty { return events }
        var loadStart = signal.monotonic
        while loadStart == nil {
            if stop.isStopped { return events }
            try? await Task.sleep(for: .milliseconds(5))
            loadStart = signal.monotonic
        }
        let start = ContinuousClock.now + .nanoseconds(Int64(bitPattern: loadStart! &- monotonicNanoseconds()))
        for step in steps.sorted(by: { DurationText.parse($0.at)! < DurationText.parse($1.at)! }) {
            let planned = DurationText.parse(step.at)!
            while ContinuousClock.now < start + planned {
                if stop.isStopped { return events }
                try? await Task.sleep(for: min(.milliseconds(50), start + planned - ContinuousClock.now))
            }
            let began = ContinuousClock.now
            let wall = Int64(Date().timeIntervalSince1970 * 1_000_000)
            log("fault: \(step.action.rawValue)")
            let (ok, detail) = await onDedicatedThread(named: "happening-fault") { perform(step) }
            events.append(
                Event(
                    action: step.action.rawValue, planned_at: planned.seconds, started_at: (began - start).seconds,
                    duration_ms: (ContinuousClock.now - began).seconds * 1000, at_micros: wall, ok: ok, detail: detail))
            if !ok { log("fault: \(step.action.rawValue) failed: \(detail)") }
        }
        return events
    }

    private func perform(_ step: Step) -> (Bool, String) {
        switch step.action {
        case .stopCache: return shell(servicesScript, ["down", "redis"])
        case .startCache: return shell(servicesScript, ["up", "redis"])
        case .stopBroker: return shell(servicesScript, ["down", "rabbitmq"])
        case .startBroker: return shell(servicesScript, ["up", "rabbitmq"])
        case .restartDatabase: return shell(servicesScript, ["restart", "postgres"])
        case .killWorker: return killWorker(restartAfter: step.restart_after.flatMap(DurationText.parse))
        }
    }

    /// SIGKILLs the first live worker of `--worker-pids`; with a delay, starts the same process again and
    /// writes its new pid to the same file.
    private func killWorker(restartAfter: Duration?) -> (Bool, String) {
        for file in workerPidFiles {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                kill(pid, 0) == 0
            else { continue }
            let procedure = WorkerCommandLine(pid: pid)
            guard kill(pid, SIGKILL) == 0 else { return (false, "cannot signal pid \(pid)") }
            guard let restartAfter else { return (true, "killed pid \(pid)") }
            guard let procedure else { return (false, "killed pid \(pid), but could not read its command line to restart it") }
            Thread.sleep(forTimeInterval: restartAfter.seconds)
            guard let newPid = procedure.respawn() else { return (false, "killed pid \(pid); restarting it failed") }
            try? "\(newPid)\n".write(toFile: file, atomically: true, encoding: .utf8)
            return (true, "killed pid \(pid), restarted as \(newPid) after \(restartAfter.seconds) s")
        }
        return (false, "no live worker in \(workerPidFiles.joined(separator: ", "))")
    }

    /// Runs a script to completion (its output kept for the report when it fails), through ``ShellCommand``.
    private func shell(_ script: String, _ arguments: [String]) -> (Bool, String) {
        let (status, text) = ShellCommand.run("bash " + ([script] + arguments).map(ShellCommand.quoted).joined(separator: " "))
        let summary = "\(script) \(arguments.joined(separator: " "))"
        return status == 0 ? (true, summary) : (false, "\(summary) exited \(status): \(text.suffix(300))")
    }
}

/// A running process's command line, environment and directory (from /proc), to start it again.
struct WorkerCommandLine: Sendable {
    let arguments: [String]
    let environment: [String: String]
    let directory: String

    init?(pid: Int32) {
        func fields(_ name: String) -> [String]? {
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/\(name)") else { return nil }
            return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        }
        guard let arguments = fields("cmdline"), !arguments.isEmpty, let environment = fields("environ"),
            let directory = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")
        else { return nil }
        self.arguments = arguments
        self.environment = Dictionary(
            environment.compactMap { entry -> (String, String)? in
                guard let equals = entry.firstIndex(of: "=") else { return nil }
                return (String(entry[..<equals]), String(entry[entry.index(after: equals)...]))
            }, uniquingKeysWith: { $1 })
        self.directory = directory
    }

    /// Starts it again in the background (its output discarded); the new pid.
    func respawn() -> Int32? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        return process.processIdentifier
    }
}
