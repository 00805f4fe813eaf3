import Foundation
import HappeningCommandLine

/// A summary a script prints (`happening-bench report KIND`): Markdown for people and a JSON document for what reads
/// it back (the anchors, the perf gate's base), written side by side as `OUT.md` and `OUT.json`.
package protocol ScriptSummary {
    associatedtype Document: Encodable
    var document: Document { get }
    /// The Markdown file's text (ending in a newline).
    var markdown: String { get }
    /// What `report` prints: the Markdown, unless a summary prints something shorter or more.
    var printed: String { get }
}

extension ScriptSummary {
    package var printed: String { markdown }

    /// Writes `out.md` and `out.json`, making `out`'s folder if needed.
    package func write(to out: String) throws {
        try SummaryFiles.write(markdown, to: out + ".md")
        try SummaryFiles.write(String(decoding: try SummaryFiles.encoder.encode(document), as: UTF8.self) + "\n", to: out + ".json")
    }
}

/// Reading and writing the summaries' files.
package enum SummaryFiles {
    /// Indented, keys sorted: a file written again differs only where its figures do.
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A JSON file as `type`; nil when it is missing or not that shape (the summary then says there is no result).
    package static func read<T: Decodable>(_ type: T.Type, from path: String?) -> T? {
        guard let path, !path.isEmpty, let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(type, from: data)
    }

    /// A result file of the Bench's; nil when it is missing or unreadable.
    static func result(_ path: String?) -> BenchResult? {
        guard let path, !path.isEmpty else { return nil }
        return try? BenchResult.load(path)
    }

    /// The last (by name: the newest timestamp) `.json` file in `directory`, if any.
    static func newestJSON(in directory: String) -> String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().last.map { (directory as NSString).appendingPathComponent($0) }
    }

    /// A text file another tool wrote, or a usage error naming it.
    static func text(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw UsageError("cannot read \(path)") }
        return String(decoding: data, as: UTF8.self)
    }

    package static func write(_ text: String, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        do { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) } catch { throw UsageError("cannot write \(path): \(error.localizedDescription)") }
    }
}

/// A file a summary was given and what it held: nil when it is missing or unreadable (the summary then says the step
/// failed to run, or had no result).
package struct SummaryInput<Value> {
    package var path: String
    package var value: Value?

    package init(path: String, value: Value?) { (self.path, self.value) = (path, value) }
}

extension SummaryInput where Value: Decodable {
    /// `path` read as `Value`.
    package init(reading path: String) { self.init(path: path, value: SummaryFiles.read(Value.self, from: path)) }

    /// The same for a step that may not have run: nil for no path or an empty one.
    package static func given(_ path: String?) -> SummaryInput? {
        guard let path, !path.isEmpty else { return nil }
        return SummaryInput(reading: path)
    }
}

/// When and where a summary was measured: the UTC time, and this machine's cores, architecture, memory and name.
package struct MeasuredOn: Sendable {
    package var at: String
    package var cores: Int
    package var arch: String
    package var memoryGiB: Int
    package var hostname: String

    package init(at: String, cores: Int, arch: String, memoryGiB: Int, hostname: String) {
        (self.at, self.cores, self.arch, self.memoryGiB, self.hostname) = (at, cores, arch, memoryGiB, hostname)
    }

    /// Now, on this machine.
    package static func now() -> MeasuredOn {
        let machine = BenchResult.Machine.current
        var names = utsname()
        uname(&names)
        let arch = withUnsafeBytes(of: &names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return MeasuredOn(at: BenchResult.timestamp(), cores: machine.cores, arch: arch, memoryGiB: machine.memory_gib, hostname: machine.hostname)
    }

    /// `{"cores": 2, "arch": "x86_64"}`, as the generator comparisons and the fleet write it.
    var coresAndArch: CoresAndArch { CoresAndArch(cores: cores, arch: arch) }
}

/// The machine as the generator comparisons and the fleet summary record it.
package struct CoresAndArch: Codable, Sendable, Equatable {
    var cores: Int
    var arch: String
}

/// An optional field a summary's JSON always holds: `null` when there is no value (readers find every key).
@propertyWrapper
package struct NullWhenNil<Value: Codable & Sendable>: Codable, Sendable {
    package var wrappedValue: Value?

    package init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? nil : try container.decode(Value.self)
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension NullWhenNil: Equatable where Value: Equatable {}

extension KeyedDecodingContainer {
    /// A missing key reads as no value, like `null`.
    package func decode<Value>(_ type: NullWhenNil<Value>.Type, forKey key: Key) throws -> NullWhenNil<Value> {
        try decodeIfPresent(type, forKey: key) ?? NullWhenNil(wrappedValue: nil)
    }
}

extension Array where Element == Double {
    /// The median (the mean of the middle two for an even count); nil for none.
    package var median: Double? {
        guard !isEmpty else { return nil }
        let sorted = self.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
