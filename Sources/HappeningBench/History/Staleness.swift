import Foundation

/// What readers were shown of one event's availability, against the truth in PostgreSQL.
///
/// Every watched response that carries the event (its detail, or a list entry with its id) gives a *shown* value of
/// `available_tickets` and the instants the request left and its answer arrived. The *truth* is rebuilt from the
/// booking rows: the event's total, minus the tickets of each booking that holds some from its decision time (the
/// row's `updated_at`, written with `clock_timestamp()` just before the worker commits), plus them back from a
/// cancellation's time. A read may legitimately show any value the truth took while it was in flight, so:
/// - **stale**: shown > the truth when the request left; its staleness is how long before that instant the truth
///   had dropped below the shown value;
/// - **understated**: shown < the truth when the answer arrived (tickets back that readers did not see);
/// - **shown after sold out**: the truth was 0 when the request left and the read showed tickets.
struct StalenessReport: Codable, Sendable {
    var event_id: String
    /// Watched answers that carried the event.
    var reads: Int
    var stale: Int
    var understated: Int
    var max_staleness_ms: Double
    var p99_staleness_ms: Double?
    var shown_after_sold_out: Int
    /// How long after the sell-out the last read that still showed tickets left.
    var shown_after_sold_out_max_ms: Double?
    /// When the truth first reached 0 (µs since 1970), if it did.
    var sold_out_at_micros: Int64?
    /// Decisions (ticket changes) found in the booking rows.
    var changes: Int
    /// Reads per request name.
    var reads_by_request: [String: Int]
}

/// One answer that showed the watched event's availability (recorded on a loop thread).
package struct ShownRead: Sendable, Codable, Equatable {
    var template: Int
    /// Wall clock, µs since 1970: when the request left, when its answer arrived.
    var sent_micros: Int64
    var received_micros: Int64
    var shown: Int
}

/// The event's availability over time, from its booking rows.
struct AvailabilityTruth: Sendable, Equatable {
    /// A change of `delta` tickets at `micros` (µs since 1970).
    struct Change: Sendable, Equatable {
        var micros: Int64
        var delta: Int
    }

    let total: Int
    /// Sorted by time.
    let changes: [Change]
    /// `running[i]`: the availability just after `changes[i]`.
    private let running: [Int]

    init(total: Int, changes: [Change]) {
        self.total = total
        self.changes = changes.sorted { $0.micros < $1.micros }
        var value = total
        running = self.changes.map {
            value += $0.delta
            return value
        }
    }

    /// A booking row: it held `tickets` from `decided` on, until `cancelled` if it was cancelled.
    init(total: Int, bookings: [(decided: Int64, tickets: Int, cancelled: Int64?)]) {
        var changes: [Change] = []
        for booking in bookings {
            changes.append(Change(micros: booking.decided, delta: -booking.tickets))
            if let cancelled = booking.cancelled { changes.append(Change(micros: max(cancelled, booking.decided), delta: booking.tickets)) }
        }
        self.init(total: total, changes: changes)
    }

    /// The index of the last change at or before `micros`, or nil.
    private func lastChange(atOrBefore micros: Int64) -> Int? {
        var (low, high) = (0, changes.count)
        while low < high {
            let middle = (low + high) / 2
            if changes[middle].micros <= micros { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : low - 1
    }

    /// The availability at `micros` (changes at that very instant included).
    func value(at micros: Int64) -> Int { lastChange(atOrBefore: micros).map { running[$0] } ?? total }

    /// When the availability last went from ≥ `shown` to below it, at or before `micros` (it is below `shown` from
    /// then until `micros`); nil when it is not below `shown` at `micros`.
    func droppedBelow(_ shown: Int, before micros: Int64) -> Int64? {
        guard var index = lastChange(atOrBefore: micros), running[index] < shown else { return nil }
        while index > 0, running[index - 1] < shown { index -= 1 }
        return changes[index].micros
    }

    /// Whether the availability was `value` at some instant from `start` to `end` (both included).
    func took(_ value: Int, from start: Int64, to end: Int64) -> Bool {
        if self.value(at: start) == value { return true }
        var index = lastChange(atOrBefore: start).map { $0 + 1 } ?? 0
        while index < changes.count, changes[index].micros <= end {
            if running[index] == value { return true }
            index += 1
        }
        return false
    }

    /// The first instant the event was sold out and stayed so up to `micros`.
    func soldOut(before micros: Int64) -> Int64? { droppedBelow(1, before: micros) }
}

/// Computes the ``StalenessReport`` from reads and the truth (pure: tested against synthetic ledgers).
enum StalenessCheck {
    static func report(event: String, reads: [ShownRead], truth: AvailabilityTruth, requestNames: [String]) -> StalenessReport {
        var stale = 0
        var understated = 0
        var afterSoldOut = 0
        var staleness = LatencyHistogram()
        var maxStaleness: Int64 = 0
        var afterSoldOutMax: Int64?
        var byRequest: [String: Int] = [:]
        for read in reads {
            byRequest[read.template < requestNames.count ? requestNames[read.template] : "#\(read.template)", default: 0] += 1
            if let dropped = truth.droppedBelow(read.shown, before: read.sent_micros) {
                stale += 1
                let age = read.sent_micros - dropped
                maxStaleness = max(maxStaleness, age)
                staleness.record(nanoseconds: UInt64(max(0, age)) * 1_000)
                if read.shown > 0, let soldOut = truth.soldOut(before: read.sent_micros) {
                    afterSoldOut += 1
                    afterSoldOutMax = max(afterSoldOutMax ?? 0, read.sent_micros - soldOut)
                }
            }
            if read.shown < truth.value(at: read.received_micros) { understated += 1 }
        }
        let soldOutAt = truth.soldOut(before: .max)
        return StalenessReport(
            event_id: event, reads: reads.count, stale: stale, understated: understated, max_staleness_ms: Double(maxStaleness) / 1_000,
            p99_staleness_ms: stale > 0 ? Double(staleness.summary.p99) / 1_000 : nil, shown_after_sold_out: afterSoldOut,
            shown_after_sold_out_max_ms: afterSoldOutMax.map { Double($0) / 1_000 }, sold_out_at_micros: soldOutAt,
            changes: truth.changes.count, reads_by_request: byRequest)
    }
}
