import Foundation
import HappeningSystem

/// A sale made up for the benchmark: tickets = answers / 100, every value consistent with the truth (the checks find
/// nothing, so all of their work is the scan).
package struct SyntheticSale {
    package let answers: [BookingAnswer]
    package let told: [ToldOutcome]
    package let reads: [ShownRead]
    package let truth: SaleTruth

    package init(answers count: Int) {
        var random = FastRandom(seed: 42)
        let bookings = count / 2
        let tickets = max(1, count / 100)
        let start: Int64 = 1_800_000_000_000_000
        var answers: [BookingAnswer] = []
        var rows: [BookingRow] = []
        var told: [ToldOutcome] = []
        answers.reserveCapacity(bookings)
        for index in 0..<bookings {
            let sent = start + Int64(index) * 2 + Int64(random.next() % 2)
            if index < tickets {
                let id = "b\(index)"
                answers.append(BookingAnswer(user: index, template: 0, sent_micros: sent, received_micros: sent + 500, status: 202, booking_id: id))
                let decided = start + 2_000_000 + Int64(index) * 10
                rows.append(
                    BookingRow(id: id, user_id: "u\(index)", status: "confirmed", tickets: 1, requested_micros: sent + 100, updated_micros: decided))
                told.append(
                    ToldOutcome(
                        booking_id: id, user: index, told: "confirmed", http_status: 200, asked_micros: decided + 5_000, answered_micros: decided + 5_500,
                        asks: 2))
            } else {
                answers.append(BookingAnswer(user: index, template: 0, sent_micros: sent, received_micros: sent + 500, status: 422, code: "sold_out"))
            }
        }
        let truth = SaleTruth(event: "synthetic", total: tickets, rows: rows)
        let availability = truth.availability
        let span = Int64(tickets) * 10 + 4_000_000
        reads = (0..<(count - bookings)).map { _ in
            let sent = start + Int64(random.next() % UInt64(span))
            let received = sent + 300 + Int64(random.next() % 2_000)
            return ShownRead(template: 0, sent_micros: sent, received_micros: received, shown: availability.value(at: sent - Int64(random.next() % 500_000)))
        }
        (self.answers, self.told, self.truth) = (answers, told, truth)
    }

    /// Runs the three checks as a run does; seconds per check and in all.
    package func check() -> [String: Double] {
        let clock = ContinuousClock()
        var timings: [String: Double] = [:]
        let all = clock.now
        var mark = clock.now
        func lap(_ name: String) {
            timings[name] = (clock.now - mark).seconds
            mark = clock.now
        }
        let falseSoldOut = HistoryChecks.falseSoldOut(answers: answers, truth: truth, users: { "u\($0)" }, tolerance: 1_000, bound: 1_000_000)
        lap("false_sold_out")
        let toldCheck = HistoryChecks.toldMatchesLedger(told: told, rows: truth.rows, users: { "u\($0)" }, bound: 1_000_000)
        lap("told_mismatch")
        let ticketsLeft = HistoryChecks.ticketsLeft(
            events: [.init(id: truth.event, reads: reads, truth: truth.availability)], bound: 1_000_000, requestNames: ["detail"])
        lap("not_linearizable")
        timings["total"] = (clock.now - all).seconds
        precondition(falseSoldOut.violations + toldCheck.violations + ticketsLeft.violations == 0, "the made-up sale is consistent")
        return timings
    }
}
