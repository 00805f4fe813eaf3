import Testing

@testable import HappeningBench

/// The history checks on histories made here: each finds the fault it is for, with a witness, and keeps quiet on a
/// history without it — also when the server's answers came at the edges the leniency is for.
@Suite("Bench: what customers were told", .timeLimit(.minutes(10)))
struct HistoryCheckTests {
    private func row(_ id: String, _ status: String, reason: String? = nil, requested: Int64, updated: Int64, tickets: Int = 1) -> BookingRow {
        BookingRow(id: id, user_id: "user-\(id)", status: status, reason: reason, tickets: tickets, requested_micros: requested, updated_micros: updated)
    }

    private func refusal(user: Int, sent: Int64, received: Int64) -> BookingAnswer {
        BookingAnswer(user: user, template: 0, sent_micros: sent, received_micros: received, status: 422, code: "sold_out", request_id: "req-\(user)")
    }

    private func accepted(_ id: String, user: Int, sent: Int64) -> BookingAnswer {
        BookingAnswer(user: user, template: 0, sent_micros: sent, received_micros: sent + 5, status: 202, booking_id: id)
    }

    private func falseSoldOut(_ answers: [BookingAnswer], _ rows: [BookingRow], total: Int = 2, bound: Int64 = 0) -> HistoryCheck {
        HistoryChecks.falseSoldOut(answers: answers, truth: SaleTruth(event: "e", total: total, rows: rows), users: { "u\($0)" }, tolerance: 0, bound: bound)
    }

    @Test("a refusal while every ticket went to someone who asked first is no lost sale, even if they were decided after it")
    func soldOutTruly() {
        let answers = [accepted("a", user: 1, sent: 100), accepted("b", user: 2, sent: 200), refusal(user: 3, sent: 300, received: 310)]
        let rows = [row("a", "confirmed", requested: 150, updated: 400), row("b", "confirmed", requested: 250, updated: 500)]
        let check = falseSoldOut(answers, rows)
        #expect(check.checked == 1 && check.violations == 0, "\(check)")
    }

    @Test("a claim that lapsed (its booking failed), or tickets given back before the refusal: a lost sale, with the refusal as witness")
    func lostSales() throws {
        let answers = [accepted("a", user: 1, sent: 100), accepted("b", user: 2, sent: 200), refusal(user: 3, sent: 300, received: 310)]
        let lapsed = falseSoldOut(
            answers, [row("a", "confirmed", requested: 150, updated: 400), row("b", "failed", reason: "ticket_limit", requested: 250, updated: 500)])
        #expect(lapsed.violations == 1)
        let witness = try #require(lapsed.witnesses.first)
        #expect(
            witness.user_id == "u3" && witness.request_id == "req-3" && witness.sent_micros == 300 && witness.what.contains("1 ticket was free"), "\(witness)")
        // A sold-out memory that never forgets: a ticket came back at 250, the refusal left at 300.
        let forgotten = falseSoldOut(answers, [row("a", "confirmed", requested: 150, updated: 160), row("b", "cancelled", requested: 250, updated: 250)])
        #expect(forgotten.violations == 1, "\(forgotten)")
        // Given back while the refusal was in flight: the server may have decided before it came back.
        let inFlight = falseSoldOut(answers, [row("a", "confirmed", requested: 150, updated: 160), row("b", "cancelled", requested: 250, updated: 305)])
        #expect(inFlight.violations == 0, "\(inFlight)")
        // Asked for after the refusal's answer: those tickets were not spoken for when it was refused.
        let later = falseSoldOut(
            [accepted("a", user: 1, sent: 100), refusal(user: 3, sent: 300, received: 310), accepted("b", user: 2, sent: 320)],
            [row("a", "confirmed", requested: 150, updated: 160), row("b", "confirmed", requested: 330, updated: 400)])
        #expect(later.violations == 1, "\(later)")
    }

    @Test("a refusal is a read of tickets left: a ticket back for less than the bound when it left is no lost sale, one back longer is")
    func givenBackWithinTheBound() {
        let rows = [row("a", "confirmed", requested: 150, updated: 160), row("b", "cancelled", requested: 250, updated: 1_000)]
        let answers = [accepted("a", user: 1, sent: 100), accepted("b", user: 2, sent: 200)]
        let soon = falseSoldOut(answers + [refusal(user: 3, sent: 1_090, received: 1_095)], rows, bound: 100)
        #expect(soon.checked == 1 && soon.violations == 0, "\(soon)")
        let late = falseSoldOut(answers + [refusal(user: 3, sent: 1_101, received: 1_105)], rows, bound: 100)
        #expect(late.violations == 1 && late.witnesses.first?.request_id == "req-3", "\(late)")
    }

    @Test("the worker failing an accepted booking as sold out while tickets were free is a lost sale too")
    func workerRefusal() {
        let answers = [accepted("a", user: 1, sent: 100), accepted("b", user: 2, sent: 200)]
        let check = falseSoldOut(
            answers, [row("a", "confirmed", requested: 150, updated: 160), row("b", "failed", reason: "sold_out", requested: 250, updated: 260)])
        #expect(check.checked == 1 && check.violations == 1 && check.witnesses.first?.booking_id == "b", "\(check)")
        let full = falseSoldOut(
            answers, [row("a", "confirmed", requested: 150, updated: 160), row("b", "failed", reason: "sold_out", requested: 250, updated: 260)], total: 1)
        #expect(full.violations == 0)
    }

    private func told(_ id: String, _ status: String?, asked: Int64, http: Int = 200) -> ToldOutcome {
        ToldOutcome(booking_id: id, user: 1, told: status, http_status: http, asked_micros: asked, answered_micros: asked + 3, asks: 1)
    }

    @Test(
        "told = ledger: agreeing outcomes pass; told confirmed with the row gone, told failed while it holds, 404, and 'queued' long after the decision are caught"
    )
    func toldAndLedger() {
        let truth = SaleTruth(
            event: "e", total: 10,
            rows: [
                row("a", "confirmed", requested: 100, updated: 200), row("b", "failed", reason: "sold_out", requested: 100, updated: 200),
                row("c", "confirmed", requested: 100, updated: 200), row("d", "confirmed", requested: 100, updated: 2_000_000),
            ])
        func check(_ outcomes: [ToldOutcome]) -> HistoryCheck {
            HistoryChecks.toldMatchesLedger(told: outcomes, rows: truth.rows, users: { "u\($0)" }, bound: 1_000_000)
        }
        #expect(check([told("a", "confirmed", asked: 300), told("b", "failed", asked: 300), told("d", "queued", asked: 1_500_000)]).violations == 0)
        let rolledBack = check([told("z", "confirmed", asked: 300)])
        #expect(rolledBack.violations == 1 && rolledBack.witnesses.first?.what.contains("has no row") == true, "\(rolledBack)")
        #expect(check([told("c", "failed", asked: 300)]).violations == 1)
        #expect(check([told("y", "not found", asked: 300, http: 404)]).violations == 1)
        let stale = check([told("a", "queued", asked: 1_300_000)])
        #expect(stale.violations == 1 && stale.witnesses.first?.what.contains("still told queued") == true, "\(stale)")
    }

    @Test("read your writes: a list read past the bound after the decision must show the booking; one read sooner is not judged")
    func readYourWrites() {
        let rows = [row("a", "confirmed", requested: 100, updated: 1_000)]
        func listed(_ shown: Bool, asked: Int64) -> ToldOutcome {
            var outcome = told("a", "confirmed", asked: 1_100)
            (outcome.listed, outcome.listed_asked_micros, outcome.listed_answered_micros) = (shown, asked, asked + 5)
            return outcome
        }
        func check(_ outcome: ToldOutcome) -> HistoryCheck { HistoryChecks.readYourWrites(told: [outcome], rows: rows, users: { "u\($0)" }, bound: 500) }
        #expect(check(listed(true, asked: 2_000)).checked == 1 && check(listed(true, asked: 2_000)).violations == 0)
        let missing = check(listed(false, asked: 2_000))
        #expect(missing.violations == 1 && missing.witnesses.first?.booking_id == "a" && missing.witnesses.first?.what.contains("did not show it") == true)
        #expect(check(listed(false, asked: 1_300)).checked == 0, "read within the bound of the decision: not judged")
    }

    @Test("tickets left: a value the truth took within the bound before the read passes; one it never took, or took too long before, is caught")
    func linearizable() {
        let truth = AvailabilityTruth(total: 3, changes: [.init(micros: 100, delta: -1), .init(micros: 200, delta: -1)])
        func read(_ shown: Int, _ sent: Int64, _ received: Int64) -> ShownRead {
            ShownRead(template: 0, sent_micros: sent, received_micros: received, shown: shown)
        }
        let reads = [read(3, 150, 160), read(2, 150, 160), read(1, 190, 210), read(1, 150, 160), read(0, 300, 310)]
        let check = HistoryChecks.ticketsLeft(events: [.init(id: "e", reads: reads, truth: truth)], bound: 100, requestNames: ["detail"])
        #expect(check.checked == 5 && check.violations == 2, "\(check)")
        #expect(check.witnesses.map(\.sent_micros) == [150, 300], "1 before it was 1, and 0 never")
        let tight = HistoryChecks.ticketsLeft(events: [.init(id: "e", reads: [read(3, 150, 160)], truth: truth)], bound: 10, requestNames: ["detail"])
        #expect(tight.violations == 1 && tight.witnesses.first?.what.contains("detail showed 3 tickets left of event e") == true, "\(tight)")
        // Every event on its own truth: event f never changed, so 3 is right for it and wrong for e after 200.
        let unchanged = AvailabilityTruth(total: 3, changes: [])
        let two = HistoryChecks.ticketsLeft(
            events: [.init(id: "e", reads: [read(3, 400, 410)], truth: truth), .init(id: "f", reads: [read(3, 400, 410)], truth: unchanged)], bound: 100,
            requestNames: ["list"])
        #expect(two.checked == 2 && two.violations == 1 && two.witnesses.first?.what.contains("of event e") == true, "\(two)")
    }

    @Test("sums up to an instant: before the first, at one, between, after the last")
    func stepSum() {
        let sum = StepSum([(200, 2), (100, 1), (200, 3)])
        #expect(
            [sum.sum(atOrBefore: 99), sum.sum(atOrBefore: 100), sum.sum(atOrBefore: 150), sum.sum(atOrBefore: 200), sum.sum(atOrBefore: 999)] == [
                0, 1, 1, 6, 6,
            ])
    }
}
