import Foundation
import HappeningCommandLine
import HappeningSystem
import Testing

@testable import HappeningBench

/// Writes `yaml` to a scenario file of its own, loads it with `overrides`, and removes the file.
private func load(_ yaml: String, overrides: [String: String] = [:], runDirectory: String = "/tmp/run-1") throws -> Scenario {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("unit-scenario-\(UUID().uuidString).yaml").path
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try Scenario.load(path: path, overrides: overrides, runDirectory: runDirectory)
}

/// The message a scenario that fails to load gives (empty if it loads).
private func refusal(_ yaml: String) -> String {
    do {
        _ = try load(yaml)
        return ""
    } catch {
        return "\(error)"
    }
}

private let valid = """
    name: unit
    description: a scenario for the unit tests
    variables:
      seconds: "5s"
      rate: "100"
    pools:
      city: { values: [Mumbai, Pune], zipf: 1.1 }
    requests:
      - name: search
        path: /api/events/public/search?city=${city}
        weight: 3
        expect: [200, 304]
      - name: book
        method: POST
        path: /api/bookings
        body: '{"n":1}'
        auth: user
        capture: booking_id
    phases:
      - { name: warm, model: warmup, connections: 4, record: false }
      - { name: steady, model: open, connections: 8, rate: "${rate}", duration: "${seconds}", requests: [search] }
      - { name: flash, model: barrier, connections: 100 }
      - { name: after, model: closed, connections: 2, max_requests: 50, think_time: 10ms, after_faults: true }
    faults:
      - { at: 2s, action: kill-worker, restart_after: 1s }
    thresholds: ["steady.p99 < 50ms", "oversold == 0"]
    """

/// `valid` with `find` replaced by `replacement` (unchanged if `find` is not there: then it loads, and the
/// refusal test fails).
private func edited(_ find: String, _ replacement: String) -> String {
    valid.replacingOccurrences(of: find, with: replacement)
}

/// Invalid scenarios and a part of the message each must be refused with.
private let invalidScenarios: [(yaml: String, needle: String)] = [
    (edited("model: barrier", "model: burst"), "'burst' is not one of closed, open, barrier, warmup, slow at phases[2].model"),
    (edited("duration: \"${seconds}\"", "duration: 5 seconds"), "phase steady: '5 seconds' is not a duration"),
    (edited("think_time: 10ms", "think_time: soon"), "phase after: 'soon' is not a duration"),
    (edited("rate: \"${rate}\", ", ""), "phase steady: an open phase needs rate"),
    (edited("rate: \"${rate}\"", "rate: fast"), "phase steady: an open phase needs rate"),
    (edited("max_requests: 50, ", ""), "phase after: needs duration or max_requests"),
    (edited("connections: 100 }", "connections: 0 }"), "phase flash: connections must be 1…100000"),
    (edited("requests: [search]", "requests: [nope]"), "phase steady: no request template named nope"),
    (
        edited("action: kill-worker", "action: unplug"),
        "'unplug' is not one of stop-cache, start-cache, stop-broker, start-broker, restart-db, kill-worker at faults[0].action"
    ),
    (edited("auth: user", "auth: admin"), "'admin' is not one of user at requests[1].auth"),
    (edited("at: 2s", "at: later"), "at 'later' is not a duration"),
    (edited("action: kill-worker", "action: stop-cache"), "restart_after is a duration, and only for kill-worker"),
    (edited("{ values: [Mumbai, Pune], zipf: 1.1 }", "{ zipf: 1.1 }"), "pool city: needs values, sql or file"),
    (
        edited("model: warmup, connections: 4, record: false", "model: warmup, connections: 4, after_faults: true"),
        "phase warm: after_faults needs an earlier phase"
    ),
    (edited("connections: 8,", "connections: eight,"), "connections"),
    (
        edited("\nphases:\n", "\n  - { name: cancel, method: POST, path: \"/c/${captured.booking_id}\", auth: user }\nphases:\n"),
        "phase warm: ${captured.…} is for a barrier phase after the lane's first"
    ),
    (
        edited("\nphases:\n", "\n  - { name: cancel, method: POST, path: \"/c/${captured.order}\" }\nphases:\n"),
        "request cancel: ${captured.order} names no template's capture: field"
    ),
    (edited("max_requests: 50, ", "max_requests: 50, after_outcomes: true, "), "phase after: after_outcomes needs an earlier phase and the history check"),
    ("name: x\nrequests: [{ name: a, path: / }]\n", "needs at least one phase"),
    ("name: x\nrequests: [{ name: a, path: / }]\nphases: []\n", "a scenario needs at least one phase"),
    ("name: x\nrequests: []\nphases: [{ name: p, model: warmup, connections: 1 }]\n", "a scenario needs at least one request template"),
]

/// Scenario files: what a valid file decodes to, `${…}` substitution, and the refusals (each names the file and
/// the problem); plus the duration, rate and template helpers they rely on.
@Suite("Bench: scenario files", .timeLimit(.minutes(10)))
struct ScenarioTests {
    @Test("a valid scenario decodes field by field")
    func decodes() throws {
        let scenario = try load(valid)
        #expect(scenario.name == "unit")
        #expect(scenario.description == "a scenario for the unit tests")
        #expect(scenario.requests.map(\.name) == ["search", "book"])
        #expect(scenario.requests[0].weight == 3)
        #expect(scenario.requests[0].expect == [200, 304])
        #expect(scenario.requests[0].method == nil)
        #expect(scenario.requests[1].method == "POST" && scenario.requests[1].auth == .user && scenario.requests[1].capture == "booking_id")
        #expect(scenario.requests[1].body == #"{"n":1}"#)
        #expect(scenario.pools?["city"]?.values == ["Mumbai", "Pune"])
        #expect(scenario.pools?["city"]?.zipf == 1.1)
        let phases = try #require(scenario.phases)
        #expect(phases.map(\.model) == [.warmup, .open, .barrier, .closed])
        #expect(phases[0].record == false)
        #expect(phases[1].connections == 8 && phases[1].requests == ["search"])
        #expect(phases[3].max_requests == 50 && phases[3].think_time == "10ms" && phases[3].after_faults == true)
        #expect(scenario.faults?.first?.action == .killWorker && scenario.faults?.first?.restart_after == "1s")
        #expect(scenario.thresholds == ["steady.p99 < 50ms", "oversold == 0"])
        #expect(scenario.ledger == nil && scenario.setup == nil)
    }

    @Test("variables are substituted (overrides win, run_dir built in); other names are left for rendering")
    func substitution() throws {
        let defaults = try load(valid)
        #expect(defaults.phases?[1].rate == "100" && defaults.phases?[1].duration == "5s")
        #expect(defaults.variables?["run_dir"] == "/tmp/run-1")
        #expect(defaults.requests[0].path == "/api/events/public/search?city=${city}")

        let overridden = try load(
            valid + "\nledger: { event: '${run_dir}/e', ticket_count: 2 }", overrides: ["rate": "250..500", "seconds": "2m"],
            runDirectory: "/r")
        #expect(overridden.phases?[1].rate == "250..500" && overridden.phases?[1].duration == "2m")
        #expect(overridden.variables?["rate"] == "250..500" && overridden.variables?["seconds"] == "2m")
        #expect(overridden.ledger?.event == "/r/e" && overridden.ledger?.ticket_count == 2)
    }

    @Test("a variable used unquoted inside a flow mapping is substituted before the file is parsed")
    func flowStyleVariables() throws {
        let scenario = try load(
            """
            name: flow
            variables: { connections: "8", rate: "200" }
            requests: [{ name: live, path: /api/health/live }]
            phases: [{ name: steady, model: open, rate: "${rate}", connections: ${connections}, duration: 1s }]
            """, overrides: ["connections": "16"])
        #expect(scenario.phases?.first?.connections == 16)
        #expect(scenario.phases?.first?.rate == "200")
    }

    @Test("the scenarios shipped in scenarios/ all load")
    func shippedScenarios() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let folder = root.appendingPathComponent("scenarios")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.contains("homepage.yaml") && files.contains("flash-sale-ci.yaml"))
        for file in files {
            #expect(throws: Never.self, "\(file)") { try Scenario.load(path: folder.appendingPathComponent(file).path, overrides: [:], runDirectory: "/tmp/r") }
        }
        let homepage = try Scenario.load(path: folder.appendingPathComponent("homepage.yaml").path, overrides: ["seconds": "1s"], runDirectory: "/tmp/r")
        #expect(homepage.phases?.map(\.name) == ["warm-up", "throughput", "latency"])
        #expect(homepage.phases?.map(\.duration) == ["3s", "1s", "1s"])
        let day = try Scenario.load(path: folder.appendingPathComponent("flash-sale-day.yaml").path, overrides: [:], runDirectory: "/tmp/r")
        #expect(day.runLanes.map(\.name) == ["browse", "sale"] && day.runLanes[1].start == "40s")
    }

    @Test("a file that cannot be read, or is not YAML, is refused naming the file")
    func unreadable() throws {
        let missing = #expect(throws: UsageError.self) { try Scenario.load(path: "/nonexistent/unit.yaml", overrides: [:], runDirectory: "/r") }
        #expect(missing?.description == "cannot read scenario file /nonexistent/unit.yaml")
        let broken = refusal("name: [unclosed\nrequests: {")
        #expect(broken.contains("unit-scenario-") && broken.contains(".yaml: "), "\(broken)")
    }

    @Test("each invalid scenario is refused with a message that names the problem", arguments: invalidScenarios)
    func refused(yaml: String, needle: String) {
        let message = refusal(yaml)
        #expect(message.contains(needle), "\(message)")
        #expect(message.contains("unit-scenario-"), "the message names the file: \(message)")
    }

    @Test(
        "durations: ms, us, s, m, h, fractions; no unit, negative or beyond a day refused",
        arguments: [
            ("500ms", Duration.milliseconds(500) as Duration?), ("20s", .seconds(20)), ("2m", .seconds(120)), ("1.5s", .milliseconds(1_500)),
            ("250us", .microseconds(250)), ("1h", .seconds(3_600)), (" 3S ", .seconds(3)), ("0s", .zero), ("24h", .seconds(86_400)),
            ("25h", nil), ("20", nil), ("-1s", nil), ("fast", nil), ("ms", nil), ("infs", nil), ("nanms", nil),
        ])
    func durations(text: String, expected: Duration?) {
        #expect(DurationText.parse(text) == expected)
    }

    @Test("rates: a constant or an a..b ramp of positive numbers")
    func rates() {
        #expect(RateSpec("2000") == RateSpec(from: 2_000, to: 2_000))
        #expect(RateSpec(" 2.5 ") == RateSpec(from: 2.5, to: 2.5))
        #expect(RateSpec("500..3000") == RateSpec(from: 500, to: 3_000))
        #expect(RateSpec("3000..500") == RateSpec(from: 3_000, to: 500), "a ramp may go down")
        for bad in ["0", "-5", "fast", "500..", "..500", "0..100", "1..2..3", ""] {
            #expect(RateSpec(bad) == nil, "\(bad)")
        }
    }

    @Test("templates: known names replaced, unknown kept or dropped, unclosed left as is")
    func templates() {
        #expect(Template.substitute("a ${x} b ${y} c", ["x": "1"], keepUnknown: true) == "a 1 b ${y} c")
        #expect(Template.substitute("a ${x} b ${y} c", ["x": "1"], keepUnknown: false) == "a 1 b  c")
        #expect(Template.substitute("${x}${x}", ["x": "ab"], keepUnknown: false) == "abab")
        #expect(Template.substitute("tail ${open", ["open": "no"], keepUnknown: true) == "tail ${open")
        #expect(Template.names(in: "/e/${event_id}?p=${page}&x=${") == ["event_id", "page"])
    }

    @Test("captured values: a later barrier phase may name what each user captured; each user's latest value, users in order")
    func capturedValues() throws {
        let scenario = try load(
            edited("\nphases:\n", "\n  - { name: cancel, method: POST, path: \"/c/${captured.booking_id}\", auth: user }\nphases:\n")
                .replacingOccurrences(
                    of: "model: warmup, connections: 4, record: false", with: "model: warmup, connections: 4, record: false, requests: [search]"
                )
                .replacingOccurrences(of: "model: barrier, connections: 100", with: "model: barrier, connections: 100, requests: [cancel]")
                .replacingOccurrences(of: "model: closed, connections: 2,", with: "model: closed, connections: 2, requests: [book],"))
        #expect(scenario.requests.last?.capturedNames == ["captured.booking_id"])
        var captured = CapturedValues()
        captured.add([
            Capture(tag: 7, value: "b-1", at_micros: 1, field: "booking_id"), Capture(tag: 3, value: "b-2", at_micros: 2, field: "booking_id"),
            Capture(tag: 7, value: "b-3", at_micros: 3, field: "booking_id"), Capture(tag: 5, value: "", at_micros: 4, field: "booking_id"),
            Capture(tag: 9, value: "x", at_micros: 5),
        ])
        #expect(captured.users(having: ["captured.booking_id"], in: nil) == [3, 7])
        #expect(captured.users(having: ["captured.booking_id"], in: 4..<10) == [7])
        #expect(captured.users(having: ["captured.booking_id", "captured.order"], in: nil).isEmpty)
        #expect(captured.values(of: 7) == ["captured.booking_id": "b-3"] && captured.values(of: 9).isEmpty)
    }
}
