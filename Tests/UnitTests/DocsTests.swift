import ArgumentParser
import Foundation
import Testing

@testable import Bench
@testable import Seed
@testable import Worker

/// The reference in `docs/` kept true against the code: every option `--help` shows, every setting the code reads and
/// every field a scenario file may hold is documented; and the pages keep to the line rules a newcomer can read.
@Suite("Docs: the reference says what the code does", .timeLimit(.minutes(10)))
struct DocsTests {
    /// The repository's root (the tests run from it; found from this file otherwise).
    private static let root: URL = {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return FileManager.default.fileExists(atPath: "docs") ? URL(fileURLWithPath: FileManager.default.currentDirectoryPath) : here
    }()

    private static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// Every command with its full name (`happening-bench fleet render`), depth first.
    private static func commands(_ type: any ParsableCommand.Type, prefix: String = "") -> [(name: String, type: any ParsableCommand.Type)] {
        let name = prefix.isEmpty ? type._commandName : "\(prefix) \(type._commandName)"
        return [(name, type)] + type.configuration.subcommands.flatMap { commands($0, prefix: name) }
    }

    /// The `--options` a command's help lists.
    private static func options(of type: any ParsableCommand.Type, root: any ParsableCommand.Type) -> Set<String> {
        let help = root.helpMessage(for: type, columns: 400)
        // The options' own section only: not the subcommands' summaries below it.
        let listed = (help.components(separatedBy: "OPTIONS:").dropFirst().joined().components(separatedBy: "SUBCOMMANDS:").first ?? "")
        let pattern = try! NSRegularExpression(pattern: "--[a-z0-9][a-z0-9-]*")
        let range = NSRange(listed.startIndex..., in: listed)
        return Set(pattern.matches(in: listed, range: range).map { String(listed[Range($0.range, in: listed)!]) }).subtracting(["--help", "--version"])
    }

    /// The section of `page` under the heading that names `command` in backticks, up to the next heading of that level.
    private static func section(_ page: String, command: String) -> String? {
        let parts = page.components(separatedBy: "\n## ")
        return parts.first { $0.hasPrefix("`\(command)`") }
    }

    @Test("docs/commands.md: a section per command, naming every option its --help lists")
    func commandsDocumented() throws {
        let page = try Self.text("docs/commands.md")
        var missing: [String] = []
        for root in [BenchCommand.self, SeedCommand.self, WorkerCommand.self] as [any ParsableCommand.Type] {
            for (name, type) in Self.commands(root) {
                guard let section = Self.section(page, command: name) else {
                    missing.append("no section \"## `\(name)`\"")
                    continue
                }
                for option in Self.options(of: type, root: root).sorted() where !section.contains("`\(option)") {
                    missing.append("\(name): \(option)")
                }
            }
        }
        #expect(missing.isEmpty, "undocumented in docs/commands.md: \(missing.joined(separator: ", "))")
    }

    @Test("docs/configuration.md: every environment setting the code reads")
    func settingsDocumented() throws {
        let page = try Self.text("docs/configuration.md")
        let enumerator = FileManager.default.enumerator(at: Self.root.appendingPathComponent("Sources"), includingPropertiesForKeys: nil)
        let pattern = try NSRegularExpression(pattern: #"(?:settings\.[a-zA-Z]+\(|environment\[)"([A-Z][A-Z0-9_]+)""#)
        var names: Set<String> = []
        while let url = enumerator?.nextObject() as? URL {
            guard url.pathExtension == "swift" else { continue }
            let source = try String(contentsOf: url, encoding: .utf8)
            for match in pattern.matches(in: source, range: NSRange(source.startIndex..., in: source)) {
                names.insert(String(source[Range(match.range(at: 1), in: source)!]))
            }
        }
        #expect(names.count > 30, "the scan found the settings")
        let missing = names.filter { !page.contains("`\($0)`") }.sorted()
        #expect(missing.isEmpty, "undocumented in docs/configuration.md: \(missing.joined(separator: ", "))")
    }

    /// The stored properties of the Codable types in `source`: the fields a scenario file may hold.
    static func codableFields(_ source: String) -> Set<String> {
        var fields: Set<String> = []
        var depth = 0
        var codableAt: [Int] = []  // depths whose type is Codable
        let field = try! NSRegularExpression(pattern: #"^\s*(?:package\s+)?var\s+([a-z_][a-zA-Z0-9_]*)\s*:[^{]*$"#)
        for line in source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let code = line.components(separatedBy: "//").first ?? ""
            if code.range(of: #"\b(struct|enum)\s+\w+\s*:[^{]*\bCodable\b"#, options: .regularExpression) != nil { codableAt.append(depth + 1) }
            if let last = codableAt.last, depth == last, let match = field.firstMatch(in: code, range: NSRange(code.startIndex..., in: code)) {
                fields.insert(String(code[Range(match.range(at: 1), in: code)!]))
            }
            depth += code.filter { $0 == "{" }.count - code.filter { $0 == "}" }.count
            while let last = codableAt.last, depth < last { codableAt.removeLast() }
        }
        return fields
    }

    @Test("docs/scenarios.md: every field of the scenario file (scenario, requests, phases, lanes, setup, pools, ledger, schema, staleness, history, faults)")
    func scenarioFieldsDocumented() throws {
        let page = try Self.text("docs/scenarios.md")
        let files = [
            "Sources/HappeningBench/Scenario/Scenario.swift", "Sources/HappeningBench/Scenario/Lanes.swift",
            "Sources/HappeningBench/Ledger/LedgerSchema.swift", "Sources/HappeningBench/Run/FaultRunner.swift",
        ]
        let fields = try files.reduce(into: Set<String>()) { $0.formUnion(Self.codableFields(try Self.text($1))) }
        #expect(fields.isSuperset(of: ["after_outcomes", "capture", "decision_timeout", "holding", "status_field", "restart_after"]), "\(fields.sorted())")
        let missing = fields.filter { !page.contains("`\($0)`") }.sorted()
        #expect(missing.isEmpty, "undocumented in docs/scenarios.md: \(missing.joined(separator: ", "))")
    }

    @Test("the field scan: stored properties of Codable types only, at their own depth (not computed ones, not other types')")
    func fieldScan() {
        let source = """
            struct A: Codable, Sendable {
                var one: Int
                package var two: String?
                var computed: Int { 1 }
                struct B: Codable {
                    var three: [String] = []
                }
                func f() {
                    var local: Int = 0
                }
            }
            struct C { var four: Int }
            """
        #expect(Self.codableFields(source) == ["one", "two", "three"])
    }

    @Test("README.md and docs/: no line over 160 characters")
    func lineLengths() throws {
        let pages =
            ["README.md"]
            + (try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("docs").path))
            .filter { $0.hasSuffix(".md") }.map { "docs/\($0)" }
        var long: [String] = []
        for page in pages {
            for (number, line) in try Self.text(page).split(separator: "\n", omittingEmptySubsequences: false).enumerated() where line.count > 160 {
                long.append("\(page):\(number + 1) (\(line.count))")
            }
        }
        #expect(pages.count >= 5 && long.isEmpty, "lines over 160 characters: \(long.joined(separator: ", "))")
    }
}
