/// How the worker decides bookings. The harness compares them.
public enum BookingStrategy: String, Sendable, CaseIterable {
    /// The seed's design: lock the event row (`SELECT … FOR UPDATE`), check, decrement, insert, commit.
    case forUpdate = "for-update"
    /// One atomic `UPDATE … WHERE available_tickets >= n … RETURNING` plus the insert; no explicit lock.
    case conditionalUpdate = "conditional-update"
    /// Several jobs for one event decided under one lock in one transaction (first come, first served).
    case batch
    /// Read, then write an absolute value without a lock. Oversells under concurrency, on purpose: it exists
    /// only to prove the harness's ledger check catches overselling.
    case unsafe
}

/// What the worker decided for one job.
public enum BookingOutcome: Sendable, Equatable {
    /// A hold on a paid event (`pending`, until `hold_expires_at`).
    case held
    /// A free event's booking (`confirmed`).
    case confirmed
    /// Recorded as `failed` with this reason.
    case failed(FailureReason)
    /// The booking id was decided before (a redelivery); nothing changed.
    case alreadyDecided

    /// This decision gave the booking tickets (a hold or a confirmation).
    public var tookTickets: Bool { self == .held || self == .confirmed }

    /// Why a booking failed (the `booking_failure_reason` enum).
    public enum FailureReason: String, Sendable {
        case soldOut = "sold_out"
        case eventUnavailable = "event_unavailable"
        case eventPast = "event_past"
        /// The user would hold more of the event's tickets than the per-user cap allows.
        case ticketLimit = "ticket_limit"
        case invalid
        case error
    }
}
