import Foundation
import HappeningPostgres
import HappeningSystem

/// The no-oversell ledger of one event, read directly from PostgreSQL after a flash sale.
///
/// Invariants: tickets held ≤ total; available + held = total; and, when the run knows its accepted (202) bookings,
/// either **by id** (the 202 carries the booking id and the schema names the id column): every accepted booking
/// exists exactly once with a decided status (none lost, none stuck in a queue) and no booking the API never
/// accepted (phantom writes); or **by count** (no id): as many decided bookings as 202s (when refusals leave a row)
/// and no more bookings than 202s. Then held = min(accepted × tickets per request, total) when every request was
/// answered definitely; one booking per user where that is the rule; each (user, idempotency key) booked once.
package struct LedgerReport: Codable, Sendable {
    package var event_id: String
    /// Where the figures came from: Happening's schema, a mapping, or the scenario's SQL.
    var source: String? = nil
    /// `ids` or `counts`: how accepted bookings were followed (nil for a standalone `check-ledger`).
    var method: LedgerMethod? = nil
    package var total_tickets: Int
    package var available_tickets: Int
    package var held: Int
    /// Booking rows of the event, and by status label (`failed/sold_out` when the schema has a reason column).
    var bookings: Int? = nil
    var statuses: [String: Int]? = nil
    /// Accepted (202) bookings the run counted; nil for a standalone `check-ledger`.
    var accepted: Int?
    var decided: Int?
    var undecided: Int?
    var phantom: Int?
    /// Bookings beyond the number of 202s (count-based).
    var excess_bookings: Int? = nil
    var expected_held: Int?
    var oversold: Int
    var conservation_error: Int
    var held_mismatch: Int?
    var duplicate_idempotency_keys: Int?
    /// Users holding more than one booking where one per user is the rule.
    var duplicate_users: Int? = nil
    /// Request sent → decided (the booking row's decision time), when the accepted bookings are followed by id.
    var decision_latency: LatencySummary?
    var decision_histogram: EncodedHistogram?
    var decided_per_second: Double?
    var waited_seconds: Double
    package var violations: [String]
    /// Tickets held at the end by each lane's own users (lanes with `users:`), when the schema names the user column.
    var lanes: [LaneTickets]? = nil
    /// The most tickets one user holds at the end (the per-user cap, seen from the database).
    var max_tickets_per_user: Int? = nil
    /// What was checked, broken or not (nil in results written before invariants were listed).
    var invariants: [Invariant]? = nil

    /// One invariant the ledger checked: its name, and what broke it (nil when it holds).
    struct Invariant: Codable, Sendable, Equatable {
        var name: String
        var violation: String?
        var passed: Bool { violation == nil }
    }

    package var passed: Bool { violations.isEmpty }

    /// The rows by status, largest first (`confirmed 10 · failed/sold_out 990`).
    package var statusText: String {
        guard let statuses, !statuses.isEmpty else { return bookings.map { "\($0)" } ?? "–" }
        return statuses.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \($0.value)" }.joined(separator: " · ")
    }
}

/// What one lane's users hold of the event at the end: who won the sale.
struct LaneTickets: Codable, Sendable, Equatable {
    var lane: String
    /// The lane's virtual users.
    var users: Int
    var tickets_won: Int
    /// Its share of every ticket held (0…1).
    var share: Double
    /// The most one of its users holds.
    var max_per_user: Int

    /// Each lane's tickets from the tickets each user holds (`held`, by lowercase user id) and the lanes' users.
    static func lanes(_ names: [String], users: [[String]], held: [String: Int]) -> [LaneTickets] {
        let total = held.values.reduce(0, +)
        return zip(names, users).map { name, ids in
            let counts = ids.map { held[$0.lowercased()] ?? 0 }
            let won = counts.reduce(0, +)
            return LaneTickets(
                lane: name, users: ids.count, tickets_won: won, share: total > 0 ? Double(won) / Double(total) : 0, max_per_user: counts.max() ?? 0)
        }
    }
}

/// How a run's accepted bookings were matched with the database.
enum LedgerMethod: String, Codable, Sendable {
    /// Each 202 carried the booking's id: followed one by one.
    case ids
    /// The 202s carried no id (or the schema names no id column): compared as counts.
    case counts
}
