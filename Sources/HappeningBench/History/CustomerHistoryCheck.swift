/// What every customer of a sale was told, checked against what the database decided: the "what customers were
/// told" section of a report.
struct CustomerHistoryReport: Codable, Sendable {
    var event_id: String
    /// Answers to booking requests, by what they said (`202`, `422 sold_out`, `503` …).
    var answers: [String: Int]
    /// Accepted bookings asked about afterwards, and what their customers were last told (`confirmed` …).
    var followed: Int
    var told: [String: Int]
    /// How late a read of tickets left may be and still count as true (the scenario's `history.bound`).
    var bound_ms: Double
    var checks: [HistoryCheck]

    var passed: Bool { checks.allSatisfy { $0.violations == 0 } }
}

/// One check of the history: what it looked at, what broke it, and the first few witnesses.
struct HistoryCheck: Codable, Sendable, Equatable {
    var name: String
    /// Its threshold metric (`history.<metric>`).
    var metric: String
    var checked: Int
    var violations: Int
    /// The earliest violations (at most ``HistoryChecks/witnessLimit``), each enough on its own to show the fault.
    var witnesses: [HistoryWitness]
    /// Why it could not be checked, if it was not.
    var skipped: String? = nil
    /// The events its reads showed, each checked against its own truth (the tickets-left check).
    var events: Int? = nil

    /// `406,833` or `406,833 (1,234 events)`.
    var checkedText: String { Format.grouped(UInt64(checked)) + (events.map { " (\(Format.grouped(UInt64($0))) event\($0 == 1 ? "" : "s"))" } ?? "") }
}

/// One violation, with what identifies it in the run and in the server's logs.
struct HistoryWitness: Codable, Sendable, Equatable {
    var what: String
    var user_id: String?
    var booking_id: String?
    var request_id: String?
    /// When the request left and its answer arrived (µs since 1970).
    var sent_micros: Int64?
    var received_micros: Int64?
}

/// The checks, pure: answers, outcomes told and the truth in; counts and witnesses out. Each is linear in the history
/// after one sort (a binary search per answer).
enum HistoryChecks {
    static let witnessLimit = 5

    /// **No false sold-out (lost sales).** A customer refused as sold out — by the API (422 `sold_out`) or by the worker
    /// (a row failed `sold_out`) — while tickets were free at that instant and never went to anyone who asked before
    /// the refusal's answer. Lenient to the server: every booking that took tickets counts as claiming them from the
    /// moment its request left (the Bench's send instant where the run made it, else the row's request time), a
    /// refusal is judged at the end of its interval for claims and at its start for tickets given back, and `tolerance`
    /// widens both (clocks of two hosts). A refusal is a read of tickets left: tickets given back count once they have
    /// been back for `bound` (the staleness bound) when it left — a sold-out memory may lag that long, not longer.
    static func falseSoldOut(answers: [BookingAnswer], truth: SaleTruth, users: (Int) -> String?, tolerance: Int64, bound: Int64) -> HistoryCheck {
        let sentByBooking = Dictionary(answers.compactMap { a in a.booking_id.map { ($0.lowercased(), a.sent_micros) } }, uniquingKeysWith: min)
        let claims = StepSum(
            truth.rows.filter(\.tookTickets).map { row in
                (min(sentByBooking[row.id] ?? row.requested_micros, row.requested_micros), row.tickets)
            })
        let returns = StepSum(truth.rows.filter { $0.status == "cancelled" }.map { ($0.updated_micros, $0.tickets) })
        func free(sent: Int64, received: Int64) -> Int {
            truth.total - claims.sum(atOrBefore: received + tolerance) + returns.sum(atOrBefore: sent - max(tolerance, bound))
        }
        var violations: [(Int64, HistoryWitness)] = []
        let refusals = answers.filter(\.refusedSoldOut)
        for refusal in refusals {
            let left = free(sent: refusal.sent_micros, received: refusal.received_micros)
            guard left > 0 else { continue }
            violations.append(
                (
                    refusal.sent_micros,
                    HistoryWitness(
                        what: "refused as sold out (422) while \(left) ticket\(left == 1 ? " was" : "s were") free and never sold to anyone who asked before",
                        user_id: users(refusal.user), request_id: refusal.request_id, sent_micros: refusal.sent_micros,
                        received_micros: refusal.received_micros)
                ))
        }
        let workerRefusals = truth.rows.filter { $0.status == "failed" && $0.reason == "sold_out" }
        for row in workerRefusals {
            let sent = sentByBooking[row.id] ?? row.requested_micros
            let left = free(sent: sent, received: row.updated_micros)
            guard left > 0 else { continue }
            violations.append(
                (
                    sent,
                    HistoryWitness(
                        what: "accepted (202), then failed as sold out by the worker while \(left) ticket\(left == 1 ? " was" : "s were") free",
                        user_id: row.user_id, booking_id: row.id, sent_micros: sent, received_micros: row.updated_micros)
                ))
        }
        return check("no false sold-out (lost sales)", metric: "false_sold_out", checked: refusals.count + workerRefusals.count, violations)
    }

    /// **Told = ledger.** What each customer was last told of an accepted booking matches its row (of `rows`, the sale's
    /// and those of other events' bookings followed) at the end: told
    /// confirmed or pending ↔ the row holds tickets (or was cancelled after); told failed ↔ the row failed; an accepted
    /// booking the status route does not know, or one never told an outcome while its row was decided more than
    /// `bound` before the last ask, is a violation too.
    static func toldMatchesLedger(told: [ToldOutcome], rows: [BookingRow], users: (Int) -> String?, bound: Int64) -> HistoryCheck {
        let rows = Dictionary(rows.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var violations: [(Int64, HistoryWitness)] = []
        for outcome in told {
            let row = rows[outcome.booking_id.lowercased()]
            let rowText = row.map { "its row is \($0.status)\($0.reason.map { " (\($0))" } ?? "")" } ?? "it has no row"
            var fault: String?
            switch outcome.told {
            case "confirmed"?, "pending"?:
                let cancelledLater = row?.status == "cancelled" && (row?.updated_micros ?? 0) >= outcome.asked_micros
                if !(row?.holdsTickets ?? false) && !cancelledLater { fault = "told \(outcome.told!), but \(rowText)" }
            case "failed"?, "cancelled"?:
                if row?.status != outcome.told { fault = "told \(outcome.told!), but \(rowText)" }
            case "not found"?:
                fault = "accepted (202), then the status route did not know it (404); \(rowText)"
            default:
                // Every row is a decision (the worker writes it when it decides): asked long enough after it, the
                // customer should have heard.
                if let row, outcome.asked_micros > row.updated_micros + bound {
                    fault = "still told \(outcome.told ?? "nothing") \((outcome.asked_micros - row.updated_micros) / 1_000) ms after \(rowText)"
                } else if row == nil {
                    fault = "never told an outcome (last answer: \(outcome.told ?? "HTTP \(outcome.http_status)")), and \(rowText)"
                }
            }
            guard let fault else { continue }
            violations.append(
                (
                    outcome.asked_micros,
                    HistoryWitness(
                        what: fault, user_id: users(outcome.user), booking_id: outcome.booking_id, sent_micros: outcome.asked_micros,
                        received_micros: outcome.answered_micros)
                ))
        }
        return check("told = ledger (every 202 followed to its outcome)", metric: "told_mismatch", checked: told.count, violations)
    }

    /// **Read your writes.** A customer's own bookings list, read more than `bound` after their booking's row was
    /// decided, shows it. A list read sooner proves nothing either way and is not counted.
    static func readYourWrites(told: [ToldOutcome], rows: [BookingRow], users: (Int) -> String?, bound: Int64) -> HistoryCheck {
        let rows = Dictionary(rows.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var checked = 0
        var violations: [(Int64, HistoryWitness)] = []
        for outcome in told {
            guard let listed = outcome.listed, let asked = outcome.listed_asked_micros, let row = rows[outcome.booking_id.lowercased()],
                asked > row.updated_micros + bound
            else { continue }
            checked += 1
            guard !listed else { continue }
            violations.append(
                (
                    asked,
                    HistoryWitness(
                        what:
                            "their bookings list, read \((asked - row.updated_micros) / 1_000) ms after the booking was decided (\(row.status)), did not show it",
                        user_id: users(outcome.user), booking_id: outcome.booking_id, sent_micros: asked, received_micros: outcome.listed_answered_micros)
                ))
        }
        return check("read your writes (a customer's list shows their decided booking)", metric: "read_your_writes", checked: checked, violations)
    }

    /// **Tickets left, linearizable within the bound.** Every value a read showed of an event is one the event's truth
    /// took while the read was in flight, or up to `bound` before it left; every event the reads showed is checked.
    static func ticketsLeft(events: [EventShown], bound: Int64, requestNames: [String]) -> HistoryCheck {
        var violations: [(Int64, HistoryWitness)] = []
        for event in events {
            for read in event.reads where !event.truth.took(read.shown, from: read.sent_micros - bound, to: read.received_micros) {
                let name = read.template < requestNames.count ? requestNames[read.template] : "#\(read.template)"
                let (before, after) = (event.truth.value(at: read.sent_micros - bound), event.truth.value(at: read.received_micros))
                violations.append(
                    (
                        read.sent_micros,
                        HistoryWitness(
                            what:
                                "\(name) showed \(read.shown) tickets left of event \(event.id); the truth was \(before) to \(after) over the read and the bound before it, never \(read.shown)",
                            sent_micros: read.sent_micros, received_micros: read.received_micros)
                    ))
            }
        }
        var result = check(
            "tickets left linearizable within the bound", metric: "not_linearizable", checked: events.reduce(0) { $0 + $1.reads.count }, violations)
        result.events = events.count
        return result
    }

    /// One event's reads and its truth, for ``ticketsLeft(events:bound:requestNames:)``.
    struct EventShown {
        var id: String
        var reads: [ShownRead]
        var truth: AvailabilityTruth
    }

    /// A check from its violations (instant, witness): the earliest ones kept as witnesses.
    private static func check(_ name: String, metric: String, checked: Int, _ violations: [(Int64, HistoryWitness)]) -> HistoryCheck {
        let earliest = violations.sorted { $0.0 < $1.0 }.prefix(witnessLimit).map(\.1)
        return HistoryCheck(name: name, metric: metric, checked: checked, violations: violations.count, witnesses: Array(earliest))
    }
}

/// Amounts at instants, summed up to any instant by a binary search.
struct StepSum {
    private let instants: [Int64]
    private let running: [Int]

    init(_ steps: [(Int64, Int)]) {
        let sorted = steps.sorted { $0.0 < $1.0 }
        instants = sorted.map(\.0)
        var total = 0
        running = sorted.map {
            total += $0.1
            return total
        }
    }

    /// The sum of every amount at or before `instant`.
    func sum(atOrBefore instant: Int64) -> Int {
        var (low, high) = (0, instants.count)
        while low < high {
            let middle = (low + high) / 2
            if instants[middle] <= instant { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? 0 : running[low - 1]
    }
}
