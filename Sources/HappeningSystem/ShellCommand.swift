import Foundation

/// Runs a shell command line with `system(3)` and collects its status and output.
///
/// `system(3)`, not Foundation's `Process`: `Process` also waits for every descriptor a daemon the command starts
/// (redis-server, RabbitMQ) inherits, i.e. forever. The output goes to a temporary file for the same reason, and
/// stdin is `/dev/null`. Blocks its thread: from async code run it with ``onDedicatedThread(named:_:)``.
public enum ShellCommand {
    /// Runs `command` (a `bash -c`-style command line) in `directory` with `environment` exported, and returns
    /// its exit status (0–255; 255 also when it could not run) and its combined stdout and stderr.
    public static func run(
        _ command: String, in directory: String? = nil, environment: [String: String] = [:]
    ) -> (status: Int32, output: String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("happening-shell-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        let exports = environment.map { "export \($0.key)=\(quoted($0.value)); " }.joined()
        let enter = directory.map { "cd \(quoted($0)) && " } ?? ""
        let raw = system("\(enter)\(exports)(\(command)) >\(quoted(log.path)) 2>&1 </dev/null")
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return (raw == -1 ? 255 : (raw >> 8) & 0xff, output)
    }

    /// `text` as one single-quoted shell word.
    public static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
