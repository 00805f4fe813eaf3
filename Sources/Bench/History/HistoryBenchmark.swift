import ArgumentParser
import Foundation
import HappeningSystem

extension BenchCommand {
    /// `history-benchmark`: how long the history checks take on a sale of `answers` answers made up here (seeded):
    /// half booking answers (a 202 per ticket, the rest refused as sold out; every accepted booking told its outcome)
    /// and half reads of tickets left, each showing a value the truth took within the bound. Writes
    /// `OUT.{json,md}`: the figure behind "the checker is linear in the history".
    struct HistoryBenchmark: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "history-benchmark", abstract: "Time the history checks on a made-up sale of N answers (results/history-check.{md,json}).")

        @Option(help: "Answers in the history (half booking answers, half reads of tickets left).")
        var answers = 1_000_000

        @Option(help: "Rounds (the report gives each and the median).")
        var rounds = 3

        @Option(help: "Where the report goes (without extension).")
        var out = "results/history-check"

        mutating func run() async throws {
            guard answers >= 1_000, rounds >= 1 else { throw UsageError("history-benchmark: --answers at least 1000, --rounds at least 1") }
            let sale = SyntheticSale(answers: answers)
            var seconds: [[String: Double]] = []
            for round in 1...rounds {
                let timings = sale.check()
                seconds.append(timings)
                print(String(format: "history-benchmark: round %d: %.2f s for %d answers", round, timings["total"]!, answers))
            }
            let medians = Dictionary(uniqueKeysWithValues: seconds[0].keys.map { key in (key, seconds.map { $0[key]! }.sorted()[seconds.count / 2]) })
            try write(medians: medians, timings: seconds, sale: sale)
        }

        private func write(medians: [String: Double], timings: [[String: Double]], sale: SyntheticSale) throws {
            let machine = BenchResult.Machine.current
            let document: [String: Any] = [
                "answers": answers, "booking_answers": sale.answers.count, "reads": sale.reads.count, "tickets": sale.truth.total,
                "told": sale.told.count, "seconds_median": medians, "rounds": timings, "goal_seconds": 10,
                "machine": ["hostname": machine.hostname, "cores": machine.cores, "memory_gib": machine.memory_gib],
                "bench": BenchVersion.describe(), "command": "happening-bench history-benchmark --answers \(answers) --rounds \(rounds)",
            ]
            try FileManager.default.createDirectory(atPath: (out as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: out + ".json"))
            let lines =
                [
                    "# The history checks on \(Format.grouped(UInt64(answers))) answers", "",
                    "A made-up sale (seeded): \(Format.grouped(UInt64(sale.answers.count))) booking answers (\(sale.truth.total) accepted, the rest refused as sold out), "
                        + "\(Format.grouped(UInt64(sale.told.count))) outcomes told, \(Format.grouped(UInt64(sale.reads.count))) reads of tickets left. "
                        + "`happening-bench history-benchmark --answers \(answers) --rounds \(rounds)`, release build, bench \(BenchVersion.describe()), "
                        + "machine \(machine.hostname) (\(machine.cores) cores, \(machine.memory_gib) GiB). Goal: ≤ 10 s.", "",
                    "| check | median seconds |", "|---|---|",
                ] + medians.sorted { $0.key < $1.key }.map { String(format: "| %@ | %.3f |", $0.key, $0.value) }
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: out + ".md"))
            print("history-benchmark: median \(String(format: "%.2f", medians["total"]!)) s; reports \(out).{md,json}")
        }
    }
}

/// A sale made up for the benchmark: tickets = answers / 100, every value consistent with the truth (the checks find
/// nothing, so all of their work is the scan).
struct SyntheticSale {
    let answers: [BookingAnswer]
    let told: [ToldOutcome]
    let reads: [ShownRead]
    let truth: SaleTruth

    init(answers count: Int) {
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
    func check() -> [String: Double] {
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
