import BookingEngine
import Foundation
import HappeningAMQP
import HappeningPostgres
import TestSupport
import Testing

@Suite("Booking worker: no overselling under real concurrency", .timeLimit(.minutes(10)))
struct NoOversellTests {
    @Test(
        "500 jobs, 1 ticket left, 4 consumers: exactly one holds it, 499 fail sold_out",
        arguments: [
            BookingStrategy.forUpdate, .conditionalUpdate, .batch,
        ])
    func lastTicket(strategy: BookingStrategy) async throws {
        let fixture = try await WorkerFixture.make()
        let event = try await fixture.event(total: 10, available: 1)
        let jobs = (0..<500).map { _ in fixture.job(event: event) }
        try await fixture.publish(jobs)
        let ids = jobs.map(\.booking_id)
        try await fixture.drain(strategy: strategy) { try await fixture.decided(ids) == 500 }
        let ledger = try await fixture.ledger(event)
        #expect(ledger.available == 0)
        #expect(ledger.statuses["pending"] == 1, "\(ledger.statuses)")
        #expect(ledger.statuses["failed/sold_out"] == 499, "\(ledger.statuses)")
        await fixture.cleanUp()
    }

    @Test(
        "mixed ticket counts 1–4 against 37 tickets: never more held than exist, tickets conserved",
        arguments: [
            BookingStrategy.forUpdate, .conditionalUpdate, .batch,
        ])
    func mixedCounts(strategy: BookingStrategy) async throws {
        let fixture = try await WorkerFixture.make()
        let event = try await fixture.event(total: 37)
        let jobs = (0..<120).map { index in fixture.job(event: event, tickets: 1 + index % 4) }
        try await fixture.publish(jobs)
        try await fixture.drain(strategy: strategy) { try await fixture.decided(jobs.map(\.booking_id)) == jobs.count }
        let ledger = try await fixture.ledger(event)
        #expect(ledger.held <= 37)
        #expect(ledger.held + ledger.available == 37, "tickets must be conserved: \(ledger)")
        #expect(ledger.held >= 34, "with 120 requests the event should sell (nearly) out: \(ledger)")
        await fixture.cleanUp()
    }

    @Test("the unsafe strategy oversells, and the ledger check catches it")
    func unsafeIsCaught() async throws {
        let fixture = try await WorkerFixture.make()
        let event = try await fixture.event(total: 5)
        let jobs = (0..<200).map { _ in fixture.job(event: event) }
        try await fixture.publish(jobs)
        try await fixture.drain(strategy: .unsafe, consumers: 4, prefetch: 20, concurrency: 4) {
            try await fixture.decided(jobs.map(\.booking_id)) == jobs.count
        }
        let ledger = try await fixture.ledger(event)
        // The invariant every safe strategy keeps is broken: more tickets held than the event has.
        #expect(ledger.held > ledger.total, "unsafe did not oversell this time: \(ledger)")
        #expect(ledger.held + ledger.available != ledger.total)
        // Leave no oversold event behind in the shared test database.
        try await fixture.postgres.query("DELETE FROM events WHERE id = $1", [event])
        await fixture.cleanUp()
    }
}
