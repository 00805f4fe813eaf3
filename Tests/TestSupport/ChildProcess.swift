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

    /// Waits (bounded) for the process to exit, off the cooperative pool; true when it did.
    public func waitForExit(seconds: Int = 40) async throws -> Bool {
        try await TestEnvironment.shellOffPool(exitWait(seconds: seconds)).status == 0
    }

    /// Stops the process: TERM, then KILL if it is still running after `seconds`. Synchronous, for `defer`.
    public func stop(seconds: Int = 10) {
        _ = try? signal("TERM")
        if (try? TestEnvironment.shell(exitWait(seconds: seconds)))?.status != 0 { _ = try? signal("KILL") }
    }

    /// A shell loop that exits 0 once the process is gone, 1 after `seconds`.
    private func exitWait(seconds: Int) -> String {
        "for i in $(seq 1 \(seconds * 10)); do kill -0 \(pid) 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
    }
}
