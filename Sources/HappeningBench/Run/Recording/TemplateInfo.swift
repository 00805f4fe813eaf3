import Foundation
import HappeningLoad
import Histogram
import Synchronization

/// What a request template expects and keeps, looked up by ``PreparedRequest/template``.
struct TemplateInfo: Sendable {
    var name: String
    var weight: Double
    /// Expected statuses; empty means any 2xx.
    var expect: Set<Int>
    /// A JSON string field to capture from expected responses.
    var capture: String?
    /// Answers are read for the watched event's availability (staleness).
    var watched = false
    /// Its 202s are accepted bookings the ledger follows (with the captured id when the answer has one).
    var accepting = false

    func isExpected(_ status: Int) -> Bool { expect.isEmpty ? (200..<300).contains(status) : expect.contains(status) }
}
