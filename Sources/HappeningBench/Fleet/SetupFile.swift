import Foundation
import HappeningCommandLine
import HappeningLoad
import HappeningSystem

/// What `happening-bench setup` prepared for runs that share it (the shards of a fleet): the scenario's variables
/// with the values the setup captured (the flash-sale event …); the tokens stay beside it in the same directory.
package struct SetupFile: Codable, Sendable {
    var scenario: String
    package var variables: [String: String]
    var prepared_at: String

    package init(scenario: String, variables: [String: String], prepared_at: String) {
        (self.scenario, self.variables, self.prepared_at) = (scenario, variables, prepared_at)
    }

    package static func path(in directory: String) -> String { (directory as NSString).appendingPathComponent("setup.json") }

    /// Reads `directory/setup.json` (a usage error when it is not there).
    package static func load(_ directory: String) throws -> SetupFile {
        let path = path(in: directory)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UsageError("--setup-dir: no \(path) (make it with happening-bench setup SCENARIO --dir \(directory))")
        }
        do { return try JSONDecoder().decode(SetupFile.self, from: data) } catch { throw UsageError("--setup-dir: \(path) is not a setup file: \(error)") }
    }
}
