/// A problem with how a command was called or configured — a bad argument, a file that cannot be read, a target or
/// database that does not answer: one message for the user and exit status 2. Exit status 1 stays reserved for a
/// verdict on the system under test (a threshold or invariant that failed), so CI never mistakes a wrong URL for
/// an oversell.
public struct UsageError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ message: String) { description = message }
}
