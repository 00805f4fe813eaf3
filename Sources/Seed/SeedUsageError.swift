/// A usage problem (bad argument, unreachable database, rows already present): one message, exit status 2.
struct SeedUsageError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}
