import Foundation

/// scripts/compare-barrier.sh's summary (results/barrier-vs-nginx.{md,json}): a flash sale's intake (every buyer's booking
/// at one instant) on the server against nginx answering the same refusal, round by round; the medians, and the server as
/// multiples of nginx. A round whose run wrote no result shows `–`.
package struct BarrierComparison: ScriptSummary {
    /// The issue's goal: intake p99 ≤ 400 ms in every round.
    static let goalP99Milliseconds = 400.0

    package struct Document: Codable, Sendable {
        var commit: String
        /// The first result's machine (empty when no round wrote one).
        var machine: Machine
        var command = "scripts/compare-barrier.sh"
        var users: Int
        var tickets: Int
        var rounds: [Round]
        var median: Sides
        var server_vs_nginx: Ratios
        var goal: Goal
    }

    struct Machine: Codable, Sendable {
        var hostname: String?
        var cores: Int?
        var memory_gib: Int?
        var os: String?
    }

    struct Round: Codable, Sendable {
        var round: Int
        @NullWhenNil var server: Intake?
        @NullWhenNil var nginx: Intake?
    }

    /// One run's intake phase.
    struct Intake: Codable, Sendable {
        var requests: UInt64
        var errors: UInt64
        var p50_ms: Double
        var p99_ms: Double
        var max_ms: Double
        @NullWhenNil var cpu_us_per_request: Double?
        var generator_saturated: Bool
        var generator_reasons: [String]
        var passed: Bool
        @NullWhenNil var oversold: Int?
        var machine: Machine

        init?(_ result: BenchResult) {
            guard let run = result.runs.first, let intake = run.phases.first else { return nil }
            (requests, errors) = (intake.requests, intake.errors)
            (p50_ms, p99_ms, max_ms) = (Double(intake.latency.p50) / 1_000, Double(intake.latency.p99) / 1_000, Double(intake.latency.max) / 1_000)
            cpu_us_per_request = intake.target_cpu?.per_request_us
            generator_reasons = intake.generator?.reasons ?? []
            generator_saturated = !generator_reasons.isEmpty
            (passed, oversold) = (result.passed, run.ledger?.oversold)
            let machine = result.machine
            self.machine = Machine(hostname: machine.hostname, cores: machine.cores, memory_gib: machine.memory_gib, os: machine.os)
        }
    }

    /// Each side's medians over the rounds it ran.
    struct Sides: Codable, Sendable {
        var server: Medians
        var nginx: Medians
    }

    struct Medians: Codable, Sendable {
        @NullWhenNil var p50_ms: Double?
        @NullWhenNil var p99_ms: Double?
        @NullWhenNil var max_ms: Double?
        @NullWhenNil var cpu_us_per_request: Double?

        init(_ rows: [Intake?]) {
            let rows = rows.compactMap { $0 }
            (p50_ms, p99_ms, max_ms) = (rows.map(\.p50_ms).median, rows.map(\.p99_ms).median, rows.map(\.max_ms).median)
            cpu_us_per_request = rows.compactMap(\.cpu_us_per_request).median
        }
    }

    struct Ratios: Codable, Sendable {
        @NullWhenNil var cpu_per_request: Double?
        @NullWhenNil var p99: Double?
        @NullWhenNil var p50: Double?
    }

    struct Goal: Codable, Sendable {
        var intake_p99_ms_at_most = BarrierComparison.goalP99Milliseconds
        var rounds_within: Int
        var rounds: Int
    }

    package let document: Document

    /// Round by round, the server's and nginx's results (nil: the run wrote none).
    init(server: [BenchResult?], nginx: [BenchResult?], users: Int, tickets: Int, commit: String) {
        let (server, nginx) = (server.map { $0.flatMap(Intake.init) }, nginx.map { $0.flatMap(Intake.init) })
        let rounds = zip(server, nginx).enumerated().map { Round(round: $0.offset + 1, server: $0.element.0, nginx: $0.element.1) }
        let medians = Sides(server: Medians(server), nginx: Medians(nginx))
        let ratio = { (a: Double?, b: Double?) -> Double? in
            guard let a, let b, b != 0 else { return nil }
            return Format.rounded(a / b, places: 2)
        }
        let within = server.filter { $0.map { $0.p99_ms <= Self.goalP99Milliseconds && $0.errors == 0 } ?? false }.count
        document = Document(
            commit: commit, machine: (server + nginx).compactMap { $0?.machine }.first ?? Machine(), users: users, tickets: tickets, rounds: rounds,
            median: medians,
            server_vs_nginx: Ratios(
                cpu_per_request: ratio(medians.server.cpu_us_per_request, medians.nginx.cpu_us_per_request),
                p99: ratio(medians.server.p99_ms, medians.nginx.p99_ms), p50: ratio(medians.server.p50_ms, medians.nginx.p50_ms)),
            goal: Goal(rounds_within: within, rounds: server.count))
    }

    /// From compare-barrier.sh's work folder: `server/ROUND/` and `nginx/ROUND/`, each with the run's result.
    package init(work: String, rounds: Int, users: Int, tickets: Int, commit: String) {
        let results = { (side: String) in
            stride(from: 1, through: rounds, by: 1).map { SummaryFiles.result(SummaryFiles.newestJSON(in: "\(work)/\(side)/\($0)")) }
        }
        self.init(server: results("server"), nginx: results("nginx"), users: users, tickets: tickets, commit: commit)
    }

    private var lines: [String] {
        let (d, m) = (document, document.median)
        let machine = d.machine
        let ratios = d.server_vs_nginx
        var lines = [
            "# A flash sale's intake against nginx: \(Format.grouped(d.users)) buyers at one instant, \(d.tickets) tickets", "",
            "Commit `\(d.commit)`, `scripts/compare-barrier.sh`, \(machine.cores.map(String.init) ?? "?") cores / \(machine.memory_gib.map(String.init) ?? "?") GiB "
                + "(\(machine.os ?? "?")), release build. Server: `happening-bench gate scenarios/flash-sale.yaml` (two for-update "
                + "workers, default flags; the ledger checked). nginx: two workers answering every booking with the server's 422 body. "
                + "The Bench, the services and the workers share the same cores. Median of the rounds; CPU per request includes "
                + "opening and closing each buyer's connection.",
            "", "| | server | nginx | server ÷ nginx |", "|---|---|---|---|",
            "| CPU per request | \(Self.cell(m.server.cpu_us_per_request, " µs")) | \(Self.cell(m.nginx.cpu_us_per_request, " µs")) | "
                + "\(Self.cell(ratios.cpu_per_request, "×")) |",
            "| intake p50 | \(Self.cell(m.server.p50_ms, " ms")) | \(Self.cell(m.nginx.p50_ms, " ms")) | \(Self.cell(ratios.p50, "×")) |",
            "| intake p99 | \(Self.cell(m.server.p99_ms, " ms")) | \(Self.cell(m.nginx.p99_ms, " ms")) | \(Self.cell(ratios.p99, "×")) |", "",
            "Goal: intake p99 ≤ \(Int(Self.goalP99Milliseconds)) ms in every round — **\(d.goal.rounds_within) of \(d.goal.rounds)**.", "",
            "| round | server p50 | server p99 | server CPU/req | ledger | nginx p50 | nginx p99 | nginx CPU/req | generator flagged |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for round in d.rounds {
            let (s, n) = (round.server, round.nginx)
            let flagged = [("server", s), ("nginx", n)].compactMap { side, row in
                row.flatMap { $0.generator_saturated ? "\(side): \($0.generator_reasons.joined(separator: "; "))" : nil }
            }
            let ledger = s.map { ($0.passed ? "PASS" : "FAIL") + ($0.oversold.map { ", oversold \($0)" } ?? "") } ?? "–"
            lines.append(
                "| \(round.round) | \(Self.cell(s?.p50_ms, " ms")) | \(Self.cell(s?.p99_ms, " ms")) | \(Self.cell(s?.cpu_us_per_request, " µs")) | \(ledger) | "
                    + "\(Self.cell(n?.p50_ms, " ms")) | \(Self.cell(n?.p99_ms, " ms")) | \(Self.cell(n?.cpu_us_per_request, " µs")) | "
                    + "\(flagged.isEmpty ? "no" : flagged.joined(separator: ", ")) |")
        }
        return lines
    }

    package var markdown: String { lines.joined(separator: "\n") + "\n" }

    /// The medians, the ratios and the goal's line.
    package var printed: String { lines[6..<13].joined(separator: "\n") + "\n" }

    /// `1,234.5 ms`, or `–` without a value.
    static func cell(_ value: Double?, _ unit: String) -> String { value.map { Format.grouped($0, decimals: 1) + unit } ?? "–" }
}
