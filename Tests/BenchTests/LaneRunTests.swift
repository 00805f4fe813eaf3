import Foundation
import HappeningLoad
import HappeningSystem
import Hummingbird
import TestSupport
import Testing

@testable import HappeningBench

/// Two request routes: `fast` answers at once, `slow` after 20 ms.
private func laneRouter() -> Router<BasicRequestContext> {
    let router = Router()
    router.get("fast") { _, _ in "ok" }
    router.get("slow") { _, _ -> String in
        try await Task.sleep(for: .milliseconds(20))
        return "ok"
    }
    return router
}

/// Runs a laned scenario (YAML after the request templates) against `base` in this process.
private func runLanes(_ lanes: String, base: String) async throws -> BenchResult.Run {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("lanes-\(TestEnvironment.uniqueSuffix()).yaml").path
    try ("name: lanes\nrequests: [{ name: fast, path: /fast, expect: [200] }, { name: slow, path: /slow, expect: [200] }]\n" + lanes)
        .write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let scenario = try Scenario.load(path: path, overrides: [:], runDirectory: FileManager.default.temporaryDirectory.path)
    var settings = RunSettings()
    (settings.threads, settings.engine) = (2, .curl)
    let runner = ScenarioRunner(scenario: scenario, target: base, settings: settings, stop: StopFlag())
    return try await runner.run(label: "lanes", variables: scenario.variables ?? [:], users: .none)
}

@Suite("Bench: lanes run at once, on one clock", .serialized, .timeLimit(.minutes(10)))
struct LaneRunTests {
    @Test("two open lanes started together share the run's clock: starts within 5 ms, each lane's requests all inside the other's window")
    func clocksAgree() async throws {
        try await withHTTPTestServer(laneRouter()) { base in
            let run = try await runLanes(
                """
                lanes:
                  - { name: a, requests: [fast], phases: [{ name: a-steady, model: open, rate: 50, connections: 4, duration: 2s }] }
                  - { name: b, requests: [slow], phases: [{ name: b-steady, model: open, rate: 50, connections: 4, duration: 2s }] }
                """, base: base)
            let a = try #require(run.phases.first { $0.name == "a-steady" })
            let b = try #require(run.phases.first { $0.name == "b-steady" })
            #expect(a.lane == "a" && b.lane == "b")
            #expect(abs(a.started_at_micros - b.started_at_micros) <= 5_000, "lane starts \(a.started_at_micros) vs \(b.started_at_micros)")
            #expect((96...101).contains(a.requests) && (96...101).contains(b.requests), "50/s for 2 s on each lane: \(a.requests), \(b.requests)")
            let windows = try #require(run.windows)
            // Each request is placed by its scheduled start: with one clock, all of a's fall inside b's phase and back.
            #expect(windows.first { $0.name == "a@b-steady" }?.requests == a.requests)
            #expect(windows.first { $0.name == "b@a-steady" }?.requests == b.requests)
            #expect(a.templates.map(\.name) == ["fast"] && b.templates.map(\.name) == ["slow"], "each lane sends its own requests")
        }
    }

    @Test("an open lane and a barrier lane 500 ms in run together, each with its own histogram, the barrier inside the open lane's run")
    func openAndBarrier() async throws {
        try await withHTTPTestServer(laneRouter()) { base in
            let run = try await runLanes(
                """
                lanes:
                  - { name: browse, requests: [fast], phases: [{ name: steady, model: open, rate: 100, connections: 8, duration: 2s }] }
                  - { name: sale, start: 500ms, requests: [slow], phases: [{ name: rush, model: barrier, connections: 40 }] }
                """, base: base)
            let steady = try #require(run.phases.first { $0.name == "steady" })
            let rush = try #require(run.phases.first { $0.name == "rush" })
            #expect(rush.requests == 40 && LatencyHistogram(rush.histogram).count == 40)
            #expect((196...201).contains(steady.requests) && LatencyHistogram(steady.histogram).count == steady.requests)
            #expect(rush.latency.min >= 20_000, "the barrier's own histogram holds only the 20 ms route")
            #expect(steady.errors == 0 && rush.errors == 0)
            let offset = Double(rush.started_at_micros - steady.started_at_micros) / 1_000
            #expect(abs(offset - 500) <= 5, "the sale lane starts 500 ms into the run: \(offset) ms")
            let during = try #require(run.windows?.first { $0.name == "browse@rush" })
            #expect(during.requests > 0 && during.requests < steady.requests)
            #expect(run.windows?.first { $0.name == "browse" }?.requests == steady.requests)
        }
    }
}
