import Foundation
import HappeningCommandLine
import HappeningSystem
import Testing

@testable import HappeningBench
@testable import HappeningLoad

/// What the Bench gained to measure abuse: lanes' shares of a sale, slow clients' figures, built-in values.
@Suite("Bench: measuring abuse", .timeLimit(.minutes(10)))
struct AbuseFeatureTests {
    @Test("tickets won by lane: each lane's users' tickets, its share of all held, and the most one of them holds")
    func laneTickets() {
        let held = ["b1": 10, "b2": 10, "f1": 1, "f2": 1, "f3": 1, "stranger": 2]
        let lanes = LaneTickets.lanes(["bots", "fans"], users: [["B1", "b2"], ["f1", "f2", "f3", "f4"]], held: held)
        #expect(lanes.map(\.tickets_won) == [20, 3] && lanes.map(\.users) == [2, 4] && lanes.map(\.max_per_user) == [10, 1])
        #expect(abs(lanes[0].share - 20.0 / 25.0) < 1e-9, "a share of every ticket held, the other lanes' and strangers' too")
    }

    @Test("thresholds on lanes' tickets, the most one user holds, and slow clients")
    func thresholds() throws {
        var report = ledger()
        report.lanes = LaneTickets.lanes(["bots", "fans"], users: [["b"], ["f"]], held: ["b": 10, "f": 90])
        report.max_tickets_per_user = 90
        #expect(Thresholds.evaluate("tickets_won.bots <= 10", phases: [], ledger: report).passed)
        #expect(!Thresholds.evaluate("tickets_won.fans < 90", phases: [], ledger: report).passed)
        #expect(Thresholds.evaluate("tickets_share.fans >= 90%", phases: [], ledger: report).passed)
        #expect(!Thresholds.evaluate("max_tickets_per_user <= 10", phases: [], ledger: report).passed)
        #expect(!Thresholds.evaluate("tickets_won.nobody <= 10", phases: [], ledger: report).passed, "an unknown lane fails, never passes")

        var slow = try phaseResult(name: "idle")
        slow.slow_clients = SlowClientReport(
            send: "nothing", opened: 100, closed_by_server: 98, still_open: 2,
            close_after: LatencySummary(
                count: 98, min: 2_900_000, mean: 3_000_000, p50: 3_000_000, p90: 3_100_000, p99: 3_200_000, p999: 3_200_000, p9999: 3_200_000, max: 3_300_000))
        #expect(!Thresholds.evaluate("idle.still_open == 0", phases: [slow], ledger: nil).passed)
        #expect(Thresholds.evaluate("idle.closed_by_server == 98", phases: [slow], ledger: nil).passed)
        #expect(Thresholds.evaluate("idle.close_after_max < 4s", phases: [slow], ledger: nil).passed)
        slow.slow_clients?.close_after = nil
        #expect(!Thresholds.evaluate("idle.close_after_max < 4s", phases: [slow], ledger: nil).passed, "none closed: no time is good enough")
    }

    @Test("a slow phase needs a duration; send: is for slow phases only; the shipped abuse scenarios load")
    func scenarioRules() throws {
        func load(_ text: String) throws -> Scenario {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("slow-\(UUID().uuidString).yaml").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: path) }
            return try Scenario.load(path: path, overrides: [:], runDirectory: "/tmp/r")
        }
        let head = "name: s\nrequests: [{name: r, path: /}]\nphases:\n"
        #expect(throws: UsageError.self) { try load(head + "  - {name: idle, model: slow, connections: 5}\n") }
        #expect(throws: UsageError.self) { try load(head + "  - {name: b, model: barrier, connections: 5, send: nothing}\n") }
        let slow = try load(head + "  - {name: idle, model: slow, send: nothing, connections: 5, duration: 2s}\n")
        #expect(slow.phases?.first?.send == .nothing)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let hoarders = try Scenario.load(path: root.appendingPathComponent("scenarios/abuse-hoarders.yaml").path, overrides: [:], runDirectory: "/tmp/r")
        #expect(hoarders.runLanes.map(\.name) == ["bots", "fans"] && hoarders.thresholds?.contains("tickets_won.bots <= 50") == true)
    }

    @Test("built-in values: the virtual user's email, and fresh random text per rendered request")
    func builtIns() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString).jsonl").path
        try #"{"user_id":"u-1","email":"one@bench.test","token":"t1"}"#.appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let users = try VirtualUsers.load(path: path) { _ in nil }
        let template = Scenario.RequestTemplate(
            name: "login", method: "POST", path: "/search?q=${random}", body: #"{"email":"${user_email}"}"#, headers: nil, weight: nil, auth: nil,
            expect: nil, capture: nil)
        let renderer = RequestRenderer(target: "http://127.0.0.1:1", templates: [template], variables: [:], pools: [:], users: users)
        try renderer.validate()
        let instances = renderer.instances(of: [0], count: 20, seed: 1)[0]
        #expect(instances.allSatisfy { String(decoding: $0.wire, as: UTF8.self).hasSuffix(#"{"email":"one@bench.test"}"#) })
        let words = Set(instances.map(\.url))
        #expect(words.count == 20 && instances.allSatisfy { $0.url.count == "http://127.0.0.1:1/search?q=".count + 12 })
    }
}
