import Foundation
import HappeningLoad
import Histogram
import Synchronization

/// A value captured from a response (e.g. a booking id), with when it arrived (wall clock, µs since 1970).
package struct Capture: Sendable, Codable {
    var tag: Int
    var value: String
    var at_micros: Int64
    /// When the request was sent (the decision latency counts from here: the worker may decide before the 202
    /// reaches a busy generator, so the answer's arrival is no lower bound).
    var sent_micros: Int64? = nil
    /// The field captured (the template's `capture:`); nil for a 202 that carried no id.
    var field: String? = nil
}
