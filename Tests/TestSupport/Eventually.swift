import Foundation

/// How long tests wait for something they can observe. A test waits this long only when it is failing, so the
/// figures are generous: the suite runs in parallel on 2 cores, possibly beside CPU hogs, and a deadline a
/// loaded machine can miss is a flaky test.
public enum Patience {
    /// For state that follows from a request or a message: a row written, a webhook received, a key gone.
    public static let standard: Duration = .seconds(60)
    /// For a process or a service to start or restart (a debug binary, a broker, a database).
    public static let startup: Duration = .seconds(120)
    /// Between two looks at the observed state.
    public static let interval: Duration = .milliseconds(20)
}

/// ``eventually(_:within:every:file:line:_:until:)`` gave up: what it waited for, how long, and what it saw last.
public struct TimedOut: Error, CustomStringConvertible {
    /// What the test was waiting for, in words.
    public var what: String
    /// How long it waited.
    public var waited: Duration
    /// The last value the probe returned, or the last error it threw.
    public var lastSeen: String
    /// Where the test waited.
    public var location: String

    public var description: String {
        let seconds = Double(waited.components.seconds) + Double(waited.components.attoseconds) / 1e18
        return "timed out after \(String(format: "%.1f", seconds)) s waiting for \(what)"
            + " (\(location)); last saw: \(lastSeen)"
    }
}

/// Thrown by a probe to stop waiting at once (the thing waited for can no longer happen, e.g. the process exited).
public struct WaitAbandoned: Error, CustomStringConvertible {
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Polls `observe` until `isDone` holds for what it returned, and returns that value. An error from `observe`
/// counts as "not yet" (a server still starting, a row not there yet) and is reported if the deadline passes;
/// ``WaitAbandoned`` and cancellation end the wait at once.
/// On the deadline it throws ``TimedOut``, naming what it waited for and the last value or error it saw.
/// Sleeps between looks: no thread of the cooperative pool is held.
@discardableResult
public func eventually<Value>(
    _ what: String, within timeout: Duration = Patience.standard, every interval: Duration = Patience.interval,
    file: StaticString = #fileID, line: UInt = #line,
    _ observe: () async throws -> Value, until isDone: (Value) -> Bool
) async throws -> Value {
    let started = ContinuousClock.now
    var lastSeen = "nothing yet"
    while true {
        do {
            let value = try await observe()
            if isDone(value) { return value }
            lastSeen = String(describing: value)
        } catch let error as WaitAbandoned {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            lastSeen = "error: \(error)"
        }
        let waited = ContinuousClock.now - started
        guard waited < timeout else { throw TimedOut(what: what, waited: waited, lastSeen: lastSeen, location: "\(file):\(line)") }
        try await Task.sleep(for: interval)
    }
}

/// Waits until `condition` holds (``eventually(_:within:every:file:line:_:until:)`` for a plain condition).
public func eventually(
    _ what: String, within timeout: Duration = Patience.standard, every interval: Duration = Patience.interval,
    file: StaticString = #fileID, line: UInt = #line, _ condition: () async throws -> Bool
) async throws {
    try await eventually(what, within: timeout, every: interval, file: file, line: line, condition, until: { $0 })
}
