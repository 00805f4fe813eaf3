import Foundation
import HappeningCommandLine
import HappeningSystem

/// `--shard I/N`: this process is part `I` (0-based, like Kubernetes' `JOB_COMPLETION_INDEX`) of a fleet of `N` that
/// together run the scenario once. Each part takes its share of every phase's connections, rate and request budget
/// and its own slice of the virtual users (so no token is used twice); shares are as even as they can be, the first
/// parts taking the remainder, and add up to the whole exactly. `happening-bench merge` of the N result files gives
/// the whole run (histograms merge exactly) and checks the ledger once over every part's accepted bookings.
package struct Shard: Codable, Sendable, Equatable {
    var index: Int
    var count: Int

    init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// Parses `I/N` (0 ≤ I < N ≤ 1024).
    package init(parsing text: String) throws {
        let parts = text.split(separator: "/").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let index = parts[0], let count = parts[1], (1...1_024).contains(count), (0..<count).contains(index) else {
            throw UsageError("--shard takes I/N with 0 ≤ I < N ≤ 1024 (I is 0-based, like JOB_COMPLETION_INDEX), got '\(text)'")
        }
        self.init(index: index, count: count)
    }

    /// This part's share of `total`.
    func share(of total: Int) -> Int { PhaseRunner.share(of: total, part: index, parts: count) }

    /// This part's slice of `whole`: the parts' slices tile it in order.
    func slice(of whole: Range<Int>) -> Range<Int> {
        let before = (0..<index).reduce(0) { $0 + PhaseRunner.share(of: whole.count, part: $1, parts: count) }
        return (whole.lowerBound + before)..<(whole.lowerBound + before + share(of: whole.count))
    }

    /// `phase` as this part runs it: its share of the connections and of `max_requests` (the rate is divided where
    /// the schedule is made, ``PhaseRunner``). A phase with fewer connections than parts cannot be split.
    func apply(to phase: Scenario.Phase) throws -> Scenario.Phase {
        guard phase.connections >= count else {
            throw UsageError("phase \(phase.name) has \(phase.connections) connections: too few for \(count) shards (each needs one)")
        }
        var mine = phase
        mine.connections = share(of: phase.connections)
        if let budget = phase.max_requests { mine.max_requests = max(1, share(of: budget)) }
        return mine
    }

    /// This part's share of a rate (requests per second).
    func share(of rate: RateSpec) -> RateSpec { RateSpec(from: rate.from / Double(count), to: rate.to / Double(count)) }
}

/// What a shard's result carries for `merge`: when its load really left, and what the fleet's one ledger check needs.
struct ShardReport: Codable, Sendable {
    var index: Int
    var count: Int
    /// The ledger's event (setup's value substituted) and its block, when the scenario checks one: `merge` checks it.
    var ledger_event: String?
    var ledger: Scenario.LedgerSpec?
    /// One capture per accepted booking (202) of this part.
    var accepted: [Capture]?
    /// Requests this part saw refused as sold out, and whether every booking request got a definite answer.
    var sold_out: Int?
    var complete: Bool?

    init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }
}
