import Foundation
import HappeningSystem

/// The invariants a ledger report can be checked against, each with the words the reports print when it is broken.
/// What is listed depends on what the run knows: without accepted bookings (a standalone `check-ledger`) only the
/// ticket counts; by id the accepted bookings one by one; by count the numbers of 202s and bookings.
enum LedgerInvariants {
    typealias Invariant = LedgerReport.Invariant

    static func check(_ report: LedgerReport, recordsRefusals: Bool, run: LedgerChecker.Run) -> [Invariant] {
        let (held, total, available) = (report.held, report.total_tickets, report.available_tickets)
        var checked = [
            Invariant(
                name: "held <= total (no oversell)",
                violation: report.oversold > 0 ? "OVERSOLD by \(report.oversold) tickets: \(held) held > \(total) total" : nil),
            Invariant(
                name: "available + held = total",
                violation: report.conservation_error != 0
                    ? "tickets not conserved: available \(available) + held \(held) = \(available + held), not the total \(total)" : nil),
        ]
        let seconds = Int(run.timeout.seconds)
        switch report.method {
        case .ids?:
            checked.append(
                Invariant(
                    name: "every accepted (202) booking decided",
                    violation: (report.undecided ?? 0) > 0
                        ? "\(report.undecided!) accepted (202) bookings were never decided within \(seconds) s (lost or stuck)" : nil))
            checked.append(
                Invariant(
                    name: "no booking the API never accepted",
                    violation: (report.phantom ?? 0) > 0 ? "\(report.phantom!) bookings exist that the API never accepted" : nil))
        case .counts?:
            checked.append(
                recordsRefusals
                    ? Invariant(
                        name: "as many decided bookings as 202s",
                        violation: (report.undecided ?? 0) > 0
                            ? "\(report.undecided!) of \(report.accepted ?? 0) accepted (202) bookings have no decided row within \(seconds) s (lost or stuck)"
                            : nil)
                    : Invariant(
                        name: "no booking left in flight",
                        violation: (report.undecided ?? 0) > 0 ? "\(report.undecided!) bookings still in an undecided status after \(seconds) s" : nil))
            checked.append(
                Invariant(
                    name: "no more bookings than 202s",
                    violation: (report.excess_bookings ?? 0) > 0
                        ? "\(report.bookings ?? 0) bookings for \(report.accepted ?? 0) accepted (202) answers: \(report.excess_bookings!) the API never accepted"
                        : nil))
        case nil: break
        }
        if let mismatch = report.held_mismatch, let expected = report.expected_held {
            let rule = run.soldOutAnswers > 0 ? "requests were refused as sold out, so every ticket" : "min(accepted × \(run.ticketsPerRequest), total)"
            checked.append(Invariant(name: "held = expected", violation: mismatch != 0 ? "held \(held) tickets, expected \(expected) (\(rule))" : nil))
        }
        if let duplicates = report.duplicate_users {
            checked.append(
                Invariant(
                    name: "one booking per user",
                    violation: duplicates > 0 ? "\(duplicates) users hold more than one booking (one per user is the rule)" : nil))
        }
        if let duplicates = report.duplicate_idempotency_keys {
            checked.append(
                Invariant(
                    name: "each idempotency key booked once",
                    violation: duplicates > 0 ? "\(duplicates) idempotency keys booked more than once" : nil))
        }
        return checked
    }
}
