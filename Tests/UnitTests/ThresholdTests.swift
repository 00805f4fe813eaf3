import Foundation
import Testing

@testable import HappeningBench

/// A phase result as the bench writes it, with `name` and `recorded` chosen.
func phaseResult(name: String = "steady", recorded: Bool = true, requests: Int = 1000, p99: Int = 45000) throws -> PhaseResult {
    try JSONDecoder().decode(
        PhaseResult.self,
        from: Data(
            #"""
            {"name":"\#(name)","model":"open","connections":4,"recorded":\#(recorded),"started_at_micros":0,"elapsed_seconds":10,"requests":\#(requests),
             "requests_per_second":100,"errors":5,"error_rate":0.005,"statuses":{"200":995,"500":5},"transport_errors":{},"late":3,"abandoned":0,
             "cache_hits":0,"cache_misses":0,"latency":{"count":1000,"min":100,"mean":2000,"p50":1500,"p90":3000,"p99":\#(p99),"p999":90000,"p9999":90000,"max":90000},
             "histogram":{"unit":"us","significant_digits":3,"highest_trackable":60000000,"total":0,"buckets":[]},"templates":[],"timeline":[],"processes":1}
            """#.utf8))
}

/// A ledger report of a 10-ticket sale with 400 accepted bookings.
func ledger(oversold: Int = 0, undecided: Int? = 0, decisionP99: UInt64? = 1_200_000) -> LedgerReport {
    LedgerReport(
        event_id: "e", total_tickets: 10, available_tickets: 0, held: 10, bookings: 400, statuses: ["confirmed": 10, "failed/sold_out": 390],
        accepted: 400, decided: 400, undecided: undecided, phantom: 0, expected_held: 10, oversold: oversold,
        conservation_error: 0, held_mismatch: nil, duplicate_idempotency_keys: 2,
        decision_latency: decisionP99.map {
            LatencySummary(count: 400, min: 1_000, mean: 50_000, p50: 40_000, p90: 90_000, p99: $0, p999: $0, p9999: $0, max: $0)
        },
        decision_histogram: nil, decided_per_second: 950.5, waited_seconds: 1, violations: [])
}

/// Threshold expressions (`metric op limit`): units and percentages, every operator, which phase a bare stat
/// means, the ledger metrics, and refusals that fail rather than pass silently.
@Suite("Bench: thresholds", .timeLimit(.minutes(10)))
struct ThresholdTests {
    // Moved unchanged from BenchTests/BenchProcessTests.swift (it needs no server).
    @Test("thresholds parse units and report by how much they failed")
    func thresholds() throws {
        let phase = try JSONDecoder().decode(
            PhaseResult.self,
            from: Data(
                #"""
                {"name":"steady","model":"open","connections":4,"recorded":true,"started_at_micros":0,"elapsed_seconds":10,"requests":1000,
                 "requests_per_second":100,"errors":5,"error_rate":0.005,"statuses":{"200":995,"500":5},"transport_errors":{},"late":0,"abandoned":0,
                 "cache_hits":900,"cache_misses":100,"latency":{"count":1000,"min":100,"mean":2000,"p50":1500,"p90":3000,"p99":45000,"p999":90000,"p9999":90000,"max":90000},
                 "histogram":{"unit":"us","significant_digits":3,"highest_trackable":60000000,"total":0,"buckets":[]},"templates":[],"timeline":[],"processes":1}
                """#.utf8))
        func check(_ expression: String) -> ThresholdResult { Thresholds.evaluate(expression, phases: [phase], ledger: nil) }
        #expect(check("p99 < 50ms").passed)
        #expect(!check("steady.p99 < 40ms").passed)
        #expect(check("steady.p99 < 40ms").message.contains("off by 5.00ms"))
        #expect(check("error_rate < 1%").passed)
        #expect(!check("error_rate < 0.1%").passed)
        #expect(check("cache_hit_ratio >= 90%").passed)
        #expect(check("rps >= 100").passed)
        #expect(check("steady.status_500 == 5").passed && check("status_200 > 990").passed)
        #expect(check("status_503 == 0").passed, "a status never seen counts 0")
        #expect(!check("status_5xx == 0").passed, "a status is three digits")
        #expect(!check("p99 < 50").passed, "a latency limit without a unit is refused")
        #expect(!check("oversold == 0").passed, "no ledger, no value: fails rather than passing silently")
        #expect(!check("nonsense").passed)
    }

    @Test(
        "every operator, against requests = 1000",
        arguments: [
            ("requests == 1000", true), ("requests != 1000", false), ("requests != 999", true), ("requests <= 1000", true), ("requests < 1000", false),
            ("requests >= 1000", true), ("requests > 1000", false), ("requests > 999", true), ("requests < 1001", true), ("requests == 999", false),
        ])
    func operators(expression: String, passes: Bool) throws {
        let result = Thresholds.evaluate(expression, phases: [try phaseResult()], ledger: nil)
        #expect(result.passed == passes, "\(result.message)")
        #expect(result.actual == 1000 && result.limit == Double(expression.split(separator: " ").last!)!)
    }

    @Test("messages: the value when it passes; the limit and how far off when it fails")
    func messages() throws {
        let phases = [try phaseResult()]
        #expect(Thresholds.evaluate("requests >= 1000", phases: phases, ledger: nil).message == "requests = 1000")
        #expect(Thresholds.evaluate("error_rate < 0.1%", phases: phases, ledger: nil).message == "error_rate = 0.005, limit < 0.1% (off by 0.004, 400%)")
        #expect(Thresholds.evaluate("late == 0", phases: phases, ledger: nil).message == "late = 3, limit == 0 (off by 3)")
        #expect(Thresholds.evaluate("steady.p99 <= 1s", phases: phases, ledger: nil).message == "steady.p99 = 45.00ms")
        #expect(Thresholds.evaluate("p99 < fast", phases: phases, ledger: nil).message == "cannot parse the limit 'fast'")
        #expect(Thresholds.evaluate("nope.p99 < 1s", phases: phases, ledger: nil).message == "no value for 'nope.p99' in this run")
        #expect(Thresholds.evaluate("rps > 5ms", phases: phases, ledger: nil).message == "'rps' is not a latency")
        #expect(Thresholds.evaluate("p99 < 50", phases: phases, ledger: nil).message.contains("give the limit a unit"))
        #expect(
            Thresholds.evaluate("cache_hit_ratio > 0", phases: phases, ledger: nil).message == "no value for 'cache_hit_ratio' in this run",
            "no cache verdicts seen: no ratio, not 0")
    }

    @Test("a latency may be compared with a bare 0; other latency limits need a unit")
    func zeroLatency() throws {
        let phases = [try phaseResult()]
        #expect(Thresholds.evaluate("p99 > 0", phases: phases, ledger: nil).passed)
        #expect(!Thresholds.evaluate("p99 > 1", phases: phases, ledger: nil).passed)
    }

    @Test("a bare stat means the last recorded phase; phase.stat picks one")
    func whichPhase() throws {
        let phases = [
            try phaseResult(name: "first", p99: 10_000), try phaseResult(name: "second", p99: 80_000), try phaseResult(name: "cool", recorded: false, p99: 1),
        ]
        #expect(Thresholds.evaluate("p99 < 50ms", phases: phases, ledger: nil).actual == 80_000)
        #expect(Thresholds.evaluate("first.p99 < 50ms", phases: phases, ledger: nil).passed)
        #expect(!Thresholds.evaluate("second.p99 < 50ms", phases: phases, ledger: nil).passed)
        #expect(Thresholds.evaluate("cool.p99 < 50ms", phases: phases, ledger: nil).actual == 1)
        #expect(!Thresholds.evaluate("p99 < 50ms", phases: [], ledger: nil).passed)
    }

    @Test("ledger metrics, with the decision latency in µs and missing values failing")
    func ledgerMetrics() throws {
        let phases = [try phaseResult()]
        let good = ledger()
        #expect(Thresholds.evaluate("oversold == 0", phases: phases, ledger: good).passed)
        #expect(Thresholds.evaluate("lost == 0", phases: phases, ledger: good).passed)
        #expect(Thresholds.evaluate("duplicates == 2", phases: phases, ledger: good).passed)
        #expect(Thresholds.evaluate("decided_per_second > 900", phases: phases, ledger: good).actual == 950.5)
        #expect(Thresholds.evaluate("decision.p99 < 2s", phases: phases, ledger: good).passed)
        #expect(!Thresholds.evaluate("decision.p99 < 1s", phases: phases, ledger: good).passed)
        #expect(Thresholds.evaluate("p99 < 50ms", phases: phases, ledger: good).actual == 45_000, "phase stats still come from the phases")
        #expect(!Thresholds.evaluate("held_mismatch == 0", phases: phases, ledger: good).passed, "not computed: no value")
        #expect(!Thresholds.evaluate("decision.p99 < 2s", phases: phases, ledger: ledger(decisionP99: nil)).passed)
        let bad = ledger(oversold: 3, undecided: nil)
        #expect(Thresholds.evaluate("oversold == 0", phases: phases, ledger: bad).message == "oversold = 3, limit == 0 (off by 3)")
        #expect(!Thresholds.evaluate("undecided == 0", phases: phases, ledger: bad).passed)
    }

    @Test("limits: latency units to µs, percentages to fractions, bare numbers as they are")
    func limits() throws {
        func limit(_ text: String) -> (Double, Bool)? { Thresholds.parseLimit(text) }
        #expect(limit("50ms")! == (50_000, true))
        #expect(limit("1.5s")! == (1_500_000, true))
        #expect(limit("250us")! == (250, true))
        #expect(limit("250µs")! == (250, true))
        #expect(limit("3")! == (3, false))
        let percent = try #require(limit("0.1%"))
        #expect(abs(percent.0 - 0.001) < 1e-15 && !percent.1)
        for bad in ["fast", "ms", "%", "", "5 ms"] { #expect(limit(bad) == nil, "\(bad)") }
        #expect(Thresholds.number(3) == "3" && Thresholds.number(0.5) == "0.5" && Thresholds.number(2.0 / 3) == "0.6667")
    }
}
