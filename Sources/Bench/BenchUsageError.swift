/// A usage or configuration problem: one message, exit status 2.
struct BenchUsageError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}
