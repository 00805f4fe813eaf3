/// The system under test did not come up (or went away): exit status 1, like a failed check.
package struct GateError: Error, CustomStringConvertible {
    package var description: String
    init(_ message: String) { description = message }
}
