import ArgumentParser
import Foundation
import HappeningBench
import HappeningCommandLine
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
            let made: String =
                "A made-up sale (seeded): \(Format.grouped(UInt64(sale.answers.count))) booking answers (\(sale.truth.total) accepted, the rest refused "
                + "as sold out), \(Format.grouped(UInt64(sale.told.count))) outcomes told, \(Format.grouped(UInt64(sale.reads.count))) reads of tickets left."
            let how: String =
                "`happening-bench history-benchmark --answers \(answers) --rounds \(rounds)`, release build, bench \(BenchVersion.describe()), "
                + "machine \(machine.hostname) (\(machine.cores) cores, \(machine.memory_gib) GiB). Goal: ≤ 10 s."
            let rows: [String] = medians.sorted { $0.key < $1.key }.map { String(format: "| %@ | %.3f |", $0.key, $0.value) }
            let lines: [String] =
                ["# The history checks on \(Format.grouped(UInt64(answers))) answers", "", made + " " + how, "", "| check | median seconds |", "|---|---|"]
                + rows
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: out + ".md"))
            print("history-benchmark: median \(String(format: "%.2f", medians["total"]!)) s; reports \(out).{md,json}")
        }
    }
}
