import Foundation
import Testing

@testable import HappeningBench

/// Lane windows from samples constructed here: which requests fall in another lane's phase, and thresholds on them.
@Suite("Bench: lanes measured over each other's windows", .timeLimit(.minutes(10)))
struct LaneWindowTests {
    static let templates = [TemplateInfo(name: "list", weight: 1, expect: [], capture: nil), TemplateInfo(name: "detail", weight: 1, expect: [], capture: nil)]
    static let second: UInt64 = 1_000_000_000

    /// A browse lane answering every 10 ms for 30 s (1 ms, but 100 ms while the sale runs from 10 s to 15 s), and the sale.
    static func runs() -> [LanePhaseRun] {
        let origin: UInt64 = 1_000 * second
        var samples: [RequestSample] = []
        for index in 0..<3_000 {
            let start = origin + UInt64(index) * 10_000_000
            let inSale = start >= origin + 10 * second && start <= origin + 15 * second
            samples.append(
                RequestSample(
                    start: start, latencyNanoseconds: inSale ? 100_000_000 : 1_000_000, template: UInt16(index % 2),
                    status: inSale && index % 10 == 0 ? 503 : 200, curlError: 0,
                    flags: inSale ? (index % 10 == 0 ? [.unexpected] : [.cacheMiss]) : [.cacheHit]))
        }
        let browseClock = PhaseClock(monotonicStart: origin)
        let saleClock = PhaseClock(monotonicStart: origin + 10 * second)
        let browse = PhaseResult(
            window: "steady", lane: "browse", samples: samples, templates: templates, from: origin, to: origin + 30 * second, clock: browseClock)
        let sale = PhaseResult(
            window: "sale", lane: "sale", samples: [], templates: templates, from: origin + 10 * second, to: origin + 15 * second, clock: saleClock)
        return [
            LanePhaseRun(lane: "browse", result: browse, clock: browseClock, samples: samples, end: origin + 30 * second),
            LanePhaseRun(lane: "sale", result: sale, clock: saleClock, samples: [], end: origin + 15 * second),
        ]
    }

    @Test("browse@sale holds exactly the browse requests due while the sale ran; browse holds them all")
    func windows() throws {
        let views = LaneWindows.views(of: Self.runs(), templates: Self.templates)
        let names = views.map(\.name)
        #expect(names == ["browse", "browse@before-sale", "browse@sale", "browse@after-sale", "sale", "sale@steady"])
        #expect(views.first { $0.name == "browse@before-sale" }?.requests == 1_000)
        #expect(views.first { $0.name == "browse@after-sale" }?.requests == 1_499)
        let whole = try #require(views.first { $0.name == "browse" })
        let window = try #require(views.first { $0.name == "browse@sale" })
        #expect(whole.requests == 3_000)
        #expect(window.requests == 501, "10.00 s … 15.00 s inclusive, every 10 ms")
        #expect(window.latency.p50 >= 99_000 && window.latency.p50 <= 101_000)
        #expect(whole.latency.p50 >= 990 && whole.latency.p50 <= 1_010)
        #expect(window.errors == 51 && window.statuses["503"] == 51)
        #expect(window.cache_hits == 0 && window.cache_misses == 450 && whole.cache_hits == 2_499)
        #expect(window.elapsed_seconds == 5 && window.requests_per_second == 100.2)
        #expect(window.templates.map(\.name).sorted() == ["detail", "list"])
        #expect(window.templates.reduce(0) { $0 + $1.requests } == 501)
        #expect(window.timeline.first?.second == 0 && window.timeline.last?.second == 5)
    }

    @Test("a window threshold passes and fails as written")
    func thresholds() {
        let views = LaneWindows.views(of: Self.runs(), templates: Self.templates)
        func verdict(_ expression: String) -> ThresholdResult { Thresholds.evaluate(expression, phases: [], windows: views, ledger: nil) }
        #expect(!verdict("browse@sale.p99 < 25ms").passed)
        #expect(verdict("browse@sale.p99 < 25ms").message.contains("browse@sale.p99"))
        #expect(verdict("browse@sale.p99 < 150ms").passed)
        #expect(verdict("browse.p50 < 2ms").passed)
        #expect(!verdict("browse@sale.error_rate < 5%").passed)
        #expect(verdict("browse@sale.requests == 501").passed)
        #expect(!verdict("browse@nothing.p99 < 1s").passed, "an unknown window is a failure, not a pass")
    }

    @Test("lanes: names are unique, starts parse, templates exist; phases and lanes do not mix")
    func validation() throws {
        func scenario(_ body: String) throws -> Scenario {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("lanes-\(UUID()).yaml").path
            try ("name: lanes\nrequests: [{ name: list, path: /a }, { name: book, path: /b }]\n" + body).write(toFile: path, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: path) }
            return try Scenario.load(path: path, overrides: [:], runDirectory: "/tmp")
        }
        let good = try scenario(
            """
            lanes:
              - { name: browse, requests: [list], phases: [{ name: steady, model: open, rate: 100, connections: 4, duration: 2s }] }
              - { name: sale, start: 500ms, requests: [book], phases: [{ name: rush, model: barrier, connections: 10 }] }
            """)
        #expect(good.runLanes.map(\.name) == ["browse", "sale"] && good.hasLanes)
        #expect(good.runLanes[1].start == "500ms")
        for (body, needle) in [
            ("lanes:\n  - { name: a, phases: [{ name: a, model: closed, connections: 1, duration: 1s }] }", "used twice"),
            ("lanes:\n  - { name: a, start: soon, phases: [{ name: p, model: closed, connections: 1, duration: 1s }] }", "not a duration"),
            ("lanes:\n  - { name: a, requests: [nope], phases: [{ name: p, model: closed, connections: 1, duration: 1s }] }", "no request template"),
            ("lanes:\n  - { name: a, phases: [] }", "at least one phase"),
            (
                "phases: [{ name: p, model: closed, connections: 1, duration: 1s }]\nlanes:\n  - { name: a, phases: [{ name: q, model: closed, connections: 1, duration: 1s }] }",
                "not both"
            ),
            ("lanes:\n  - { name: a@b, phases: [{ name: p, model: closed, connections: 1, duration: 1s }] }", "without '@'"),
        ] {
            var refusal = "loaded"
            do { _ = try scenario(body) } catch { refusal = "\(error)" }
            #expect(refusal.contains(needle), "\(body): \(refusal)")
        }
    }
}
