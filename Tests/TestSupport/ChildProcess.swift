import Foundation

/// One of the project's binaries (built by `swift build --build-tests` into `.build/debug`) running as a
/// separate process in the background, started through the shell so that it can be signalled like a
/// deployed process.
public struct ChildProcess: Sendable {
    /// The file holding the process id; its output goes to `<pidFile>.log`.
    public let pidFile: String

    /// Starts `.build/debug/<product>` with `arguments` and `environment` (plus the shell's).
    public static func start(_ product: String, arguments: String = "", environment: [String: String] = [:]) throws -> ChildProcess {
        let binary = TestEnvironment.repositoryRoot.appendingPathComponent(".build/debug/\(product)").path
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(product)-\(TestEnvironment.uniqueSuffix()).pid").path
        let env = environment.map { "\($0.key)='\($0.value)'" }.sorted().joined(separator: " ")
        let started = try TestEnvironment.shell("\(env) nohup '\(binary)' \(arguments) >'\(pidFile).log' 2>&1 & echo $! >'\(pidFile)'")
        guard started.status == 0 else { throw StartFailed(output: started.output) }
        return ChildProcess(pidFile: pidFile)
    }

    /// The process could not be started.
    public struct StartFailed: Error { public var output: String }

    /// The process id.
    public var pid: String { (try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "" }

    /// What the process printed so far.
    public var output: String { (try? String(contentsOfFile: pidFile + ".log", encoding: .utf8)) ?? "" }

    /// Sends a signal (`TERM`, `KILL`, `INT` …).
    public func signal(_ name: String) throws { _ = try TestEnvironment.shell("kill -\(name) \(pid)") }

    /// True while the process exists.
    public var isRunning: Bool {
        guard let id = pid_t(pid) else { return false }
        return kill(id, 0) == 0
    }

    /// Waits (bounded) for the process to exit; true when it did. Sleeps between checks: no thread is blocked.
    public func waitForExit(seconds: Int = 40) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        return !isRunning
    }

    /// Stops the process and waits for it: TERM, then KILL if it is still running after `seconds`.
    public func terminate(seconds: Int = 10) async {
        guard let id = pid_t(pid) else { return }
        kill(id, SIGTERM)
        if (try? await waitForExit(seconds: seconds)) != true { kill(id, SIGKILL) }
    }

    /// Stops the process without waiting for it, for `defer`: TERM now, KILL from a thread of its own if it is
    /// still running after `seconds` (a blocking wait here would hold one of the cooperative pool's 2 threads).
    public func stop(seconds: Int = 10) {
        guard let id = pid_t(pid) else { return }
        kill(id, SIGTERM)
        let thread = Thread {
            let deadline = Date().addingTimeInterval(TimeInterval(seconds))
            while kill(id, 0) == 0, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if kill(id, 0) == 0 { kill(id, SIGKILL) }
        }
        thread.name = "test-stop-\(id)"
        thread.start()
    }
}
