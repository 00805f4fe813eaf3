import Foundation
import Hummingbird
import TestSupport
import Testing

@testable import Bench

/// `diff` on real runs: a server with two routes that each wait a few milliseconds, and a test-only extra delay
/// on one of them.
@Suite("Bench: diff with confidence intervals", .timeLimit(.minutes(10)))
struct DiffTests {
    /// Extra milliseconds `/slow-able` waits (the test-only setting).
    private final class Delay: Sendable {
        let extra = LockedValue(0)
    }

    private func router(_ delay: Delay) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("api/health") { _, _ in "ok" }
        router.get("steady") { _, _ -> String in
            try await Task.sleep(for: .milliseconds(4))
            return "steady"
        }
        router.get("slow-able") { _, _ -> String in
            try await Task.sleep(for: .milliseconds(4 + delay.extra.value))
            return "slow-able"
        }
        return router
    }

    private static let scenario = """
        name: two-routes
        requests:
          - { name: steady, path: /steady, expect: [200] }
          - { name: slow-able, path: /slow-able, expect: [200] }
        phases:
          - { name: warm, model: warmup, connections: 4 }
          - { name: steady-state, model: closed, connections: 4, duration: 1s }
        """

    /// `run --repeat N` into `directory/name`; the result.
    private func runs(_ count: Int, _ base: String, into directory: String, name: String) async throws -> BenchResult {
        let out = "\(directory)/\(name)"
        let run = try await bench("run '\(directory)/two.yaml' --target \(base) --repeat \(count) --progress none --out '\(out)'")
        try #require(run.status == 0, "\(run.output)")
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: out).first { $0.hasSuffix(".json") })
        return try JSONDecoder().decode(BenchResult.self, from: Data(contentsOf: URL(fileURLWithPath: "\(out)/\(file)")))
    }

    /// One result holding the single run of each of `results`, written to `path`.
    private func keep(_ results: [BenchResult], at path: String) throws -> String {
        var joined = results[0]
        joined.runs = results.flatMap(\.runs)
        try JSONEncoder().encode(joined).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// `result` with only the runs at `indices`, written to `path`.
    private func keep(_ result: BenchResult, _ indices: [Int], at path: String) throws -> String {
        var part = result
        part.runs = indices.map { result.runs[$0] }
        try JSONEncoder().encode(part).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("same build, same server: 10 diffs, at most 1 false alarm; an extra delay on one route: that route regressed, the exit is 1")
    func falseAlarmsAndRegression() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-diff-\(TestEnvironment.uniqueSuffix())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.scenario.write(toFile: "\(directory)/two.yaml", atomically: true, encoding: .utf8)
        let delay = Delay()
        try await withHTTPTestServer(router(delay)) { base in
            // 40 runs of the same build in a row (1 s each); diff k compares runs 4k and 4k+2 with 4k+1 and 4k+3 (two runs a
            // side, interleaved, as a CI job alternating base and new would), each with a 5 % tolerance.
            let same = try await runs(40, base, into: directory, name: "same")
            var alarms: [String] = []
            for pair in 0..<10 {
                let a = try keep(same, [4 * pair, 4 * pair + 2], at: "\(directory)/a\(pair).json")
                let b = try keep(same, [4 * pair + 1, 4 * pair + 3], at: "\(directory)/b\(pair).json")
                let diff = try await bench("diff '\(a)' '\(b)' --fail-on-regression 5% --out '\(directory)/diffs'")
                if diff.status != 0 || diff.output.contains("REGRESSED") || diff.output.contains("IMPROVED") { alarms.append(diff.output) }
            }
            #expect(alarms.count <= 1, "\(alarms.count) false alarms in 10:\n\(alarms.joined(separator: "\n"))")

            // The same server with 20 ms more on one route; four runs a side (with two, a starved machine's noise
            // leaves the interval too wide to be sure even of this), interleaved: base, slower, base, slower … so that
            // whatever else the machine does meanwhile weighs on both sides alike.
            var (baseRuns, slowerRuns): ([BenchResult], [BenchResult]) = ([], [])
            for round in 0..<4 {
                delay.extra.withLock { $0 = 0 }
                baseRuns.append(try await runs(1, base, into: directory, name: "base-\(round)"))
                delay.extra.withLock { $0 = 20 }
                slowerRuns.append(try await runs(1, base, into: directory, name: "slower-\(round)"))
            }
            let baseFile = try keep(baseRuns, at: "\(directory)/base.json")
            let newFile = try keep(slowerRuns, at: "\(directory)/new.json")
            let diff = try await bench("diff '\(baseFile)' '\(newFile)' --fail-on-regression 5% --out '\(directory)/regression'")
            #expect(diff.status == 1, "\(diff.output)")
            #expect(diff.output.contains("REGRESSED: steady-state / slow-able p50"), "\(diff.output)")
            #expect(!diff.output.contains("REGRESSED: steady-state / steady p50"), "the untouched route's latency did not change: \(diff.output)")
            let json = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(directory)/regression").first { $0.hasSuffix(".json") })
            let report = try JSONDecoder().decode(RunDiff.self, from: Data(contentsOf: URL(fileURLWithPath: "\(directory)/regression/\(json)")))
            let line = try #require(report.lines.first { $0.route == "slow-able" && $0.metric == .p50 })
            // 4 ms → 24 ms: certainly slower by more than the 5 % tolerance (how much more depends on how busy the machine is).
            #expect(line.verdict == .regressed && (line.change?.lower ?? 0) > 0.05 && (line.change?.change ?? 0) > 0.3, "\(line)")
        }
    }
}
