import ArgumentParser
import Foundation
import HappeningBench
import HappeningCommandLine
import HappeningLoad
import HappeningSystem

extension BenchCommand {
    /// `setup SCENARIO --dir DIR`: runs the scenario's setup steps once (the seeder: users' tokens, the flash-sale
    /// event) into DIR, for every shard of a fleet to run against with `--setup-dir DIR`.
    struct Setup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a scenario's setup once into a directory that shards share (--setup-dir).")

        @Argument(help: "The scenario file.")
        var scenario: String

        @Option(help: "The directory (shared by the shards: a volume on Kubernetes); the tokens and setup.json go here.")
        var dir: String

        @Option(help: "PostgreSQL URL for the seeder (default: $DATABASE_URL).")
        var databaseURL: String?

        @Option(name: .customLong("set"), help: "Override a scenario variable: --set users=1000 (repeatable).")
        var variables: [String] = []

        @Option(help: "Progress: auto, live, lines or none.")
        var progress: ProgressOption = .auto

        mutating func run() async throws {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let directory = URL(fileURLWithPath: dir).standardizedFileURL.path
            var options = try LoadOptions.parse(variables.flatMap { ["--set", $0] })
            options.databaseURL = databaseURL
            let loaded = try Scenario.load(path: scenario, overrides: try options.overrides(), runDirectory: directory)
            var settings = RunSettings()
            (settings.databaseURL, settings.progress) = (options.database, progress.style)
            let runner = ScenarioRunner(scenario: loaded, target: "", settings: settings, stop: StopFlag())
            let (values, users) = try await runner.setUp(runDirectory: directory)
            let file = SetupFile(scenario: loaded.name, variables: values.filter { $0.key != "run_dir" }, prepared_at: BenchResult.timestamp())
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(file).write(to: URL(fileURLWithPath: SetupFile.path(in: directory)), options: .atomic)
            print("happening-bench setup: \(loaded.name): \(users.count) users' tokens and \(file.variables.count) values in \(directory)")
            print("  run each shard with: --setup-dir \(directory) --shard I/N --start-at <one instant for all>")
        }
    }
}
