import Foundation
import TestSupport
import Testing

@testable import HappeningBench

/// The history checks' power: each runs against a server or worker broken on purpose in the matching way (`MUTATION`,
/// ``HappeningConfig/Mutation``) and fails with a witness, and passes against the real one.
@Suite("Bench: the history checks catch what they are for", .serialized, .timeLimit(.minutes(10)))
struct HistoryMutationTests {
    /// `happening-bench gate` of the scenario `yaml` at test size; the exit status, output and the run's history.
    private func gate(_ yaml: String, mutation: String?, _ extra: String = "") async throws -> (
        status: Int32, output: String, history: CustomerHistoryReport?
    ) {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("bench-mutation-\(TestEnvironment.uniqueSuffix())").path
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: logs) }
        let scenario = "\(logs)/scenario.yaml"
        try yaml.write(toFile: scenario, atomically: true, encoding: .utf8)
        var environment = [
            "DATABASE_URL": TestEnvironment.databaseURL, "REDIS_URL": TestEnvironment.redisURL, "AMQP_URL": TestEnvironment.amqpURL,
            "JWT_SECRET": TestEnvironment.value("JWT_SECRET"),
        ]
        if let mutation { environment["MUTATION"] = mutation }
        let result = try await bench(
            "gate '\(scenario)' --workers 2 --port \(TestPorts.next()) --logs '\(logs)' --out '\(logs)' --progress none \(extra)", environment: environment)
        let file = (try? FileManager.default.contentsOfDirectory(atPath: logs))?.first { $0.hasSuffix(".json") && !$0.hasPrefix("junit") }
        let history = try file.map { try JSONDecoder().decode(BenchResult.self, from: Data(contentsOf: URL(fileURLWithPath: "\(logs)/\($0)"))) }?.runs.first?
            .history
        return (result.status, result.output, history)
    }

    /// The setup every scenario here starts with: `bench_users` users and a free event of `tickets`.
    private static let freeSale = """
        setup:
          - seed: --events 0 --users 0 --bench-users ${bench_users} --tokens-out ${run_dir}/tokens.jsonl --flash-sale-event tickets=${tickets},price=0
            set: { event_id: flash_sale_event.id }
          - tokens: ${run_dir}/tokens.jsonl
        """

    /// The booking request of every scenario here (one ticket; its id captured).
    private static let book = """
          - { name: book, method: POST, path: /api/bookings, auth: user, body: '{"event_id":"${event_id}","ticket_count":1}', expect: [202, 422], capture: booking_id }
        """

    /// A sale, then two seconds of reads: the customers are told their outcomes while the run goes on, and the rows are
    /// read after it (a rollback half a second after a confirmation is over by then).
    private static let saleThenReads = """
        name: sale-then-reads
        variables: { users: "200", bench_users: "200", tickets: "10" }
        \(freeSale)
        requests:
        \(book)
          - { name: detail, path: "/api/events/${event_id}", expect: [200] }
        phases:
          - { name: rush, model: barrier, connections: ${users}, requests: [book] }
          - { name: after, model: open, rate: 20, connections: 2, duration: 3s, requests: [detail] }
        ledger: { event: "${event_id}", ticket_count: 1, decision_timeout: 5s, requests: [book] }
        """

    @Test("a worker that confirms and then rolls the booking back: told = ledger fails, naming the booking; the real worker passes")
    func confirmationRolledBack() async throws {
        let scenario = Self.saleThenReads

        let broken = try await gate(scenario, mutation: "confirm-then-roll-back")
        #expect(broken.status == 1, "\(broken.output)")
        let check = try #require(broken.history?.checks.first { $0.metric == "told_mismatch" }, "\(broken.output)")
        #expect(check.violations == 10 && check.checked == 10, "\(check)")
        let witness = try #require(check.witnesses.first)
        #expect(witness.booking_id != nil && witness.user_id != nil && witness.sent_micros != nil, "\(witness)")
        // Told confirmed in the half second before the rollback, or never told an outcome once the row was gone (a follow-up
        // that asked too late): either way the customer's word and the ledger disagree, and the witness names the booking.
        #expect(
            witness.what.contains("told confirmed, but it has no row") || witness.what.contains("did not know it (404)")
                || witness.what.contains("never told an outcome (last answer: queued), and it has no row"), "\(witness)")
        #expect(broken.output.contains("told = ledger (every 202 followed to its outcome): 10 of 10"), "\(broken.output)")

        let real = try await gate(scenario, mutation: nil)
        #expect(real.status == 0 && real.history?.passed == true, "\(real.output)")
    }

    /// A small flash-sale day: people read the sale's event while 100 users rush its 10 tickets.
    private static let readDuringSale = """
        name: read-during-sale
        variables: { users: "100", bench_users: "120", tickets: "10" }
        \(freeSale)
        requests:
          - { name: detail, path: "/api/events/${event_id}", auth: user, expect: [200] }
        \(book)
        lanes:
          - name: browse
            users: 20
            requests: [detail]
            phases:
              - { name: reads, model: open, rate: 50, connections: 4, duration: 6s }
          - name: sale
            start: 1s
            users: ${users}
            requests: [book]
            phases:
              - { name: rush, model: barrier, connections: ${users} }
        ledger: { event: "${event_id}", ticket_count: 1, decision_timeout: 60s }
        staleness: { event: "${event_id}" }
        history: { bound: 1s }
        """

    @Test("a cache that stops updating tickets left: the reads are not linearizable within the bound, with a witness; the real cache passes")
    func frozenTicketsLeft() async throws {
        let scenario = Self.readDuringSale

        let broken = try await gate(scenario, mutation: "frozen-tickets-left", "--server-env CACHE=on")
        #expect(broken.status == 1, "\(broken.output)")
        let check = try #require(broken.history?.checks.first { $0.metric == "not_linearizable" }, "\(broken.output)")
        #expect(check.checked > 100 && check.violations > 0, "\(check)")
        #expect(check.witnesses.first?.what.contains("detail showed 10 tickets left") == true, "\(check.witnesses)")

        let real = try await gate(scenario, mutation: nil, "--server-env CACHE=on")
        let realCheck = try #require(real.history?.checks.first { $0.metric == "not_linearizable" }, "\(real.output)")
        #expect(real.status == 0 && realCheck.violations == 0 && realCheck.checked > 100, "\(real.output)")
    }

    /// A sale in three acts: 60 users rush 10 tickets; once every accepted booking was told its outcome, five winners
    /// cancel (each their own booking: `${captured.booking_id}`); then, for three seconds, people keep trying. The five
    /// tickets given back must go to them.
    private static let saleGiveBackSale = """
        name: sale-give-back-sale
        variables: { users: "60", bench_users: "60", tickets: "10", give_back: "5" }
        \(freeSale)
        requests:
        \(book)
          - { name: cancel, method: POST, path: "/api/cancellations/${captured.booking_id}/cancel", auth: user, expect: [200, 409] }
        phases:
          - { name: rush, model: barrier, connections: ${users}, requests: [book] }
          - { name: give-back, model: barrier, connections: ${give_back}, after_outcomes: true, requests: [cancel] }
          - { name: later, model: open, rate: 20, connections: 2, duration: 3s, requests: [book] }
        ledger: { event: "${event_id}", ticket_count: 1, decision_timeout: 30s, requests: [book] }
        history: { bound: 1s }
        """

    /// Runs the sale, broken by `mutation`, and returns its false sold-out check after asserting it found lost sales.
    private func lostSales(_ mutation: String, scenario: String) async throws -> HistoryCheck {
        let broken = try await gate(scenario, mutation: mutation, "--server-env CACHE=on")
        #expect(broken.status == 1, "\(broken.output)")
        let check = try #require(broken.history?.checks.first { $0.metric == "false_sold_out" }, "\(broken.output)")
        // Three seconds of refusals at 20/s while five tickets were back: at least the last second's are lost sales.
        #expect(check.violations >= 10, "\(check)")
        let witness = try #require(check.witnesses.first, "\(check)")
        #expect(witness.request_id != nil && witness.user_id != nil && witness.what.contains("free and never sold to anyone who asked before"), "\(witness)")
        return check
    }

    @Test(
        "a sold-out memory that never forgets, and admission claims left to an hour's lease: tickets given back are refused, caught as lost sales; the real server sells them"
    )
    func ticketsGivenBack() async throws {
        let scenario = Self.saleGiveBackSale

        _ = try await lostSales("sold-out-memory-never-forgets", scenario: scenario)
        _ = try await lostSales("admission-lease-outlives-sale", scenario: scenario)

        let real = try await gate(scenario, mutation: nil, "--server-env CACHE=on")
        let check = try #require(real.history?.checks.first { $0.metric == "false_sold_out" }, "\(real.output)")
        #expect(real.status == 0 && check.violations == 0 && check.checked >= 50, "\(real.output)")
        #expect(real.output.contains("give-back"), "\(real.output)")
    }
}
