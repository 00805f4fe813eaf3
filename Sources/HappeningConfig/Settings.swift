/// Reads typed settings from environment variables, with defaults, and fails with one clear line.
///
/// ```swift
/// let env = Settings(ProcessInfo.processInfo.environment)
/// let port = try env.integer("PORT", default: 5000, range: 1...65535)
/// let databaseURL = try env.required("DATABASE_URL")
/// ```
public struct Settings: Sendable {
    private let values: [String: String]

    /// Wraps a variable dictionary (usually the process environment).
    public init(_ values: [String: String]) { self.values = values }

    /// A setting that is missing or malformed. `description` is the one line a program prints before exiting.
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        /// The variable's name.
        public var name: String
        /// What is wrong with it (never its value, which may be a secret).
        public var problem: String
        /// A setting called `name` is invalid because of `problem`.
        public init(name: String, problem: String) {
            self.name = name
            self.problem = problem
        }
        public var description: String { "configuration error: \(name) \(problem)" }
    }

    /// A string that must be set and not empty.
    public func required(_ name: String) throws -> String {
        guard let value = values[name], !value.isEmpty else { throw Invalid(name: name, problem: "is required but not set") }
        return value
    }

    /// A string, or `defaultValue` when unset or empty.
    public func string(_ name: String, default defaultValue: String) -> String {
        guard let value = values[name], !value.isEmpty else { return defaultValue }
        return value
    }

    /// An optional string (nil when unset or empty).
    public func optional(_ name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    /// An integer within `range`, or `defaultValue` when unset.
    public func integer(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = values[name], !text.isEmpty else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw Invalid(name: name, problem: "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// One of `choices` (case-insensitive), or `defaultValue` when unset.
    public func choice(_ name: String, default defaultValue: String, choices: [String]) throws -> String {
        guard let text = values[name], !text.isEmpty else { return defaultValue }
        guard let value = choices.first(where: { $0.lowercased() == text.lowercased() }) else {
            throw Invalid(name: name, problem: "must be one of \(choices.joined(separator: ", "))")
        }
        return value
    }
}
