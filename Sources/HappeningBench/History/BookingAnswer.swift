/// One answer a customer got to a booking request: the history a sale is checked against (recorded on a loop thread
/// for every request of a template whose 202s the ledger follows).
package struct BookingAnswer: Codable, Sendable, Equatable {
    /// The virtual user (its line in the tokens file).
    var user: Int
    var template: Int
    /// Wall clock, µs since 1970: when the request left, when its answer arrived.
    var sent_micros: Int64
    var received_micros: Int64
    /// The HTTP status; 0 when no answer came (a transport error).
    var status: Int
    /// An error answer's `code` (`sold_out`, `rate_limited` …).
    var code: String?
    /// A 202's booking id.
    var booking_id: String?
    /// The server's request id, where an error answer carries one (`request_id`).
    var request_id: String?

    /// Refused because the event is sold out, by the API's own words.
    var refusedSoldOut: Bool { status == 422 && code == "sold_out" }
}

/// What a customer was told, asking about their accepted booking until it had an outcome.
package struct ToldOutcome: Codable, Sendable, Equatable {
    var booking_id: String
    var user: Int
    /// The booking's status in the last answer (`confirmed`, `pending`, `failed`, `cancelled`, `queued`), or nil
    /// when no answer carried one.
    var told: String?
    /// The HTTP status of the last answer (0: none came).
    var http_status: Int
    /// When the answer that first told the outcome (or the last answer) was asked for and arrived (µs since 1970).
    var asked_micros: Int64
    var answered_micros: Int64
    /// Answers asked for.
    var asks: Int
    /// Read your writes: the customer's own bookings list, asked for `bound` after the outcome was told — whether it
    /// showed this booking, and when it was asked and answered (nil: not asked, or no answer).
    var listed: Bool? = nil
    var listed_asked_micros: Int64? = nil
    var listed_answered_micros: Int64? = nil

    /// An outcome: the booking was decided (held, paid or refused), not still waiting.
    static let outcomes: Set<String> = ["confirmed", "pending", "failed", "cancelled"]

    /// Another system's statuses in these words (what its status route says, as its ledger mapping sorts them): a
    /// holding status is `confirmed`, a refused one `failed`, a released one `cancelled`.
    static func words(of bookings: LedgerSchema.Bookings) -> [String: String] {
        var words: [String: String] = [:]
        for status in bookings.released ?? [] { words[status] = "cancelled" }
        for status in bookings.refused ?? [] { words[status] = "failed" }
        for status in bookings.holding { words[status] = status == "pending" ? "pending" : "confirmed" }
        return words
    }
    var hasOutcome: Bool { told.map(Self.outcomes.contains) ?? false }
}
