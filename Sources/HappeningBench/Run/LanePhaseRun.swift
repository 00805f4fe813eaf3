import Foundation
import HappeningSystem

/// One answered request, kept so that a lane can be measured over any window of the run afterwards.
struct RequestSample: Sendable {
    /// Monotonic nanoseconds of the intended start (the schedule's time, coordinated-omission corrected).
    var start: UInt64
    var latencyNanoseconds: UInt64
    var template: UInt16
    /// HTTP status, 0 when the transfer failed.
    var status: UInt16
    /// libcurl's error code when the transfer failed.
    var curlError: Int16
    var flags: Flags

    struct Flags: OptionSet, Sendable {
        let rawValue: UInt8
        static let unexpected = Flags(rawValue: 1)
        static let cacheHit = Flags(rawValue: 2)
        static let cacheMiss = Flags(rawValue: 4)
        /// Started more than 1 ms after it was due (open model).
        static let late = Flags(rawValue: 8)
    }
}

/// A lane's phase as it ran: its result, its clock and every request it answered.
struct LanePhaseRun: Sendable {
    var lane: String
    var result: PhaseResult
    var clock: PhaseClock
    var samples: [RequestSample]
    /// Monotonic nanoseconds when the phase ended (its last answer).
    var end: UInt64
    /// Answers that showed the watched event's availability (staleness).
    var shownReads: [ShownRead] = []
    /// Every answer to a booking request (the sale's history).
    var bookingAnswers: [BookingAnswer] = []
    /// What watched answers showed of every event they carried (the history's tickets-left check).
    var eventReads = EventReads()
}
