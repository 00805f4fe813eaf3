import Foundation
import HappeningCommandLine
import HappeningSystem

/// `merge`: the same scenario's results from several processes, combined: counts add up and histograms merge
/// exactly. Results of a fleet's shards (`--shard I/N`) must be all N parts, each once; the merged run says how far
/// apart the parts' first requests left (per phase), and the ledger is checked here, once, over every part's
/// accepted bookings.
package enum ResultMerger {
    package static func merge(_ files: [String], databaseURL: String? = nil, progress: ProgressStyle = .none) async throws -> BenchResult {
        guard files.count >= 2 else { throw UsageError("merge needs at least two result files") }
        let results = try files.map(BenchResult.load)
        var merged = results[0]
        for other in results.dropFirst() {
            guard other.scenario == merged.scenario else { throw UsageError("cannot merge \(merged.scenario) with \(other.scenario)") }
            for (runIndex, run) in other.runs.enumerated() where runIndex < merged.runs.count {
                merged.runs[runIndex].phases = combine(merged.runs[runIndex].phases, run.phases)
                if let windows = run.windows { merged.runs[runIndex].windows = combine(merged.runs[runIndex].windows ?? [], windows) }
            }
        }
        let shards = try shardReports(results)
        if !shards.isEmpty {
            merged.runs[0].shard = nil
            for index in merged.runs[0].phases.indices {
                merged.runs[0].phases[index].shard_start_skew_ms = startSkew(of: merged.runs[0].phases[index].name, in: results)
            }
            merged.runs[0].ledger = try await ledger(of: shards, databaseURL: databaseURL, progress: progress)
        }
        merged.command = "happening-bench merge " + files.joined(separator: " ")
        merged.thresholds = merged.thresholds.map { old in
            let run = merged.runs[0]
            return Thresholds.evaluate(
                old.expression, phases: run.phases, windows: run.windows ?? [], ledger: run.ledger, staleness: run.staleness, history: run.history)
        }
        merged.passed = merged.failures.isEmpty
        return merged
    }

    /// `mine` with each of `theirs` merged into the entry of the same name (or appended).
    private static func combine(_ mine: [PhaseResult], _ theirs: [PhaseResult]) -> [PhaseResult] {
        var combined = mine
        for phase in theirs {
            if let index = combined.firstIndex(where: { $0.name == phase.name }) { combined[index].merge(phase) } else { combined.append(phase) }
        }
        return combined
    }

    /// The shard reports of `results` (empty when none is a shard); every part of one fleet, each once, or a usage error.
    static func shardReports(_ results: [BenchResult]) throws -> [ShardReport] {
        let reports = results.compactMap { $0.runs.first?.shard }
        guard !reports.isEmpty else { return [] }
        guard reports.count == results.count else { throw UsageError("merge: some files are shards (--shard) and some are not") }
        let count = reports[0].count
        guard reports.allSatisfy({ $0.count == count }) else { throw UsageError("merge: the shards come from fleets of different sizes") }
        let indices = reports.map(\.index).sorted()
        guard indices == Array(0..<count) else {
            let missing = Set(0..<count).subtracting(indices).sorted().map(String.init)
            let twice = Dictionary(grouping: indices, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted().map(String.init)
            throw UsageError(
                "merge: a fleet of \(count) needs shards 0…\(count - 1) once each"
                    + (missing.isEmpty ? "" : "; missing \(missing.joined(separator: ", "))")
                    + (twice.isEmpty ? "" : "; twice \(twice.joined(separator: ", "))"))
        }
        return reports
    }

    /// The latest first send minus the earliest, over the parts that ran phase `name` (ms; nil with fewer than two).
    static func startSkew(of name: String, in results: [BenchResult]) -> Double? {
        let firsts = results.compactMap { $0.runs.first?.phases.first { $0.name == name }?.first_sent_micros }
        guard firsts.count >= 2, let earliest = firsts.min(), let latest = firsts.max() else { return nil }
        return Double(latest - earliest) / 1_000
    }

    /// The fleet's ledger, checked once over every part's accepted bookings (nil when the scenario checks none).
    private static func ledger(of shards: [ShardReport], databaseURL: String?, progress: ProgressStyle) async throws -> LedgerReport? {
        guard let spec = shards[0].ledger, let event = shards[0].ledger_event else { return nil }
        guard shards.allSatisfy({ $0.ledger_event == event }) else { throw UsageError("merge: the shards booked different events (run them from one setup)") }
        guard let databaseURL else { throw UsageError("merge: the shards' ledger is checked here: pass --database-url or set DATABASE_URL") }
        let run = LedgerChecker.Run(
            accepted: shards.flatMap { $0.accepted ?? [] }, ticketsPerRequest: spec.ticket_count ?? 1,
            complete: shards.allSatisfy { $0.complete ?? false }, soldOutAnswers: shards.reduce(0) { $0 + ($1.sold_out ?? 0) },
            timeout: spec.decision_timeout.flatMap(DurationText.parse) ?? .seconds(60))
        return try await LedgerChecker(databaseURL: databaseURL, source: try spec.source()).check(event: event, run: run, progress: progress)
    }
}
