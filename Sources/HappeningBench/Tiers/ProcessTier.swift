import Foundation
import HappeningCommandLine
import HappeningHTTP
import HappeningSystem

/// The server and workers a gate starts: each a child process with its output in a log file, stopped at the end —
/// the workers through their pid files, since a `kill-worker` fault replaces a worker with a new process and
/// writes the new pid there.
package final class ProcessTier: @unchecked Sendable {
    // `@unchecked Sendable`: the arrays are only touched by the gate's task (start, then stop); the signal handler
    // that may stop the tier on Ctrl-C reads them through `stop()`, after which the process exits.
    private var server: Process?
    package private(set) var workerPidFiles: [String] = []
    private let directory: String
    private let binaries: String

    /// Logs and pid files go to `directory`; the executables are looked for in `binaries`.
    package init(directory: String, binaries: String) {
        self.directory = directory
        self.binaries = binaries
    }

    /// The server's process id, once started.
    package var serverPID: Int32? { server?.processIdentifier }

    /// Starts `happening-server` with `environment` added to this process's own.
    package func startServer(environment: [String: String]) throws {
        server = try start("happening-server", [], environment: environment, log: "server.log")
    }

    /// Starts `count` workers (`happening-worker run ARGUMENTS`), each writing its pid to `worker-N.pid`; with
    /// `metricsPorts`, worker N serves `/metrics` on the N-th of them.
    package func startWorkers(_ count: Int, arguments: [String], environment: [String: String], metricsPorts: Range<Int>? = nil) throws {
        for index in 1...count {
            let metrics = metricsPorts.map { ["--metrics-port", "\($0.lowerBound + index - 1)"] } ?? []
            let worker = try start("happening-worker", ["run"] + arguments + metrics, environment: environment, log: "worker-\(index).log")
            let file = "\(directory)/worker-\(index).pid"
            try "\(worker.processIdentifier)\n".write(toFile: file, atomically: true, encoding: .utf8)
            workerPidFiles.append(file)
        }
    }

    /// Fails when something already answers HTTP at `target`: the server started next would not get the port, and
    /// the gate would measure (and pass or fail) whatever holds it.
    package func ensureNothingAnswers(_ target: String) async throws {
        let status = try? await CurlHTTPClient.withClient {
            try await $0.send(HTTPClientRequest(url: target + "/api/health", timeout: .seconds(2))).status
        }
        if let status {
            throw GateError("something already answers \(target) (HTTP \(status)): stop it, or give the gate another --port")
        }
    }

    /// Waits until `GET target/api/health` answers 200; fails when the server exits or `timeout` passes first.
    package func waitHealthy(_ target: String, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let server, !server.isRunning {
                throw GateError("the server exited (status \(server.terminationStatus)) before it answered; its log:\n\(tail("server.log"))")
            }
            let status = try? await CurlHTTPClient.withClient {
                try await $0.send(HTTPClientRequest(url: target + "/api/health", timeout: .seconds(2))).status
            }
            if status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw GateError("the server did not answer \(target)/api/health with 200 within \(timeout.seconds) s; its log:\n\(tail("server.log"))")
    }

    /// SIGTERMs the workers, then the server; waits up to 10 s for each, then SIGKILLs what is left.
    func stop() {
        let workers = workerPidFiles.compactMap { file in
            (try? String(contentsOfFile: file, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        for pid in workers + [server?.processIdentifier].compactMap({ $0 }) {
            guard kill(pid, SIGTERM) == 0 else { continue }
            let deadline = ContinuousClock.now + .seconds(10)
            while kill(pid, 0) == 0, !Self.isZombie(pid), ContinuousClock.now < deadline { usleep(50_000) }
            if kill(pid, 0) == 0, !Self.isZombie(pid) { kill(pid, SIGKILL) }
        }
        server?.waitUntilExit()
    }

    /// The last lines of one of the tier's logs.
    func tail(_ log: String, lines: Int = 20) -> String {
        let text = (try? String(contentsOfFile: "\(directory)/\(log)", encoding: .utf8)) ?? "(no log)"
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    private func start(_ product: String, _ arguments: [String], environment: [String: String], log: String) throws -> Process {
        let executable = "\(binaries)/\(product)"
        guard FileManager.default.isExecutableFile(atPath: executable) else { throw UsageError("gate: \(executable) not found (build the \(product) product)") }
        FileManager.default.createFile(atPath: "\(directory)/\(log)", contents: nil)
        guard let output = FileHandle(forWritingAtPath: "\(directory)/\(log)") else { throw UsageError("gate: cannot write \(directory)/\(log)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        try process.run()
        return process
    }

    /// A child that exited but was not reaped yet still answers `kill(pid, 0)`.
    private static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }
}
