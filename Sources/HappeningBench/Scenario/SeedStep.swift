import Foundation
import HappeningCommandLine
import HappeningHTTP
import HappeningLoad
import HappeningSystem

/// A `seed:` setup step: runs `happening-seed … --json` (the binary next to this one) and reads its summary.
enum SeedStep {
    static func run(_ arguments: String, databaseURL: String?, progress: ProgressStyle) throws -> [String: Any] {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let binary = here.appendingPathComponent("happening-seed").path
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw UsageError("setup: \(binary) not found (build the happening-seed product)") }
        var argv = arguments.split(separator: " ").map(String.init) + ["--json", "--progress", "none"]
        if let databaseURL, !argv.contains("--database-url") { argv += ["--database-url", databaseURL] }
        if progress != .none { FileHandle.standardError.write(Data("bench: setup: happening-seed \(arguments)\n".utf8)) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = argv
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw UsageError("setup: happening-seed failed (exit \(process.terminationStatus)): \(errorText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        guard let summary = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw UsageError("setup: happening-seed printed no JSON summary")
        }
        return summary
    }

    /// `flash_sale_event.id` in a nested dictionary.
    static func lookup(_ path: String, in object: [String: Any]) -> String? {
        var current: Any? = object
        for key in path.split(separator: ".") { current = (current as? [String: Any])?[String(key)] }
        switch current {
        case let text as String: return text
        case let number as NSNumber: return number.stringValue
        default: return nil
        }
    }
}
