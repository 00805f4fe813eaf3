import Foundation
import Hummingbird
import NIOCore
import NIOPosix
import TestSupport
import Testing

@testable import HappeningBench

/// `diff` on real runs: a server with two routes that each wait 20 ms (an event-loop timer: `Task.sleep`'s landed
/// 0.5–0.8 ms late and varied by as much from run to run), and a test-only extra delay on one of them.
@Suite("Bench: diff with confidence intervals", .timeLimit(.minutes(10)))
struct DiffTests {
    /// Extra microseconds `/slow-able` waits (the test-only setting).
    private final class Delay: Sendable {
        let extra = LockedValue(0)
    }

    private static func wait(microseconds: Int) async throws {
        try await MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: .microseconds(Int64(microseconds))) {}.futureResult.get()
    }

    private func router(_ delay: Delay) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("api/health") { _, _ in "ok" }
        router.get("steady") { _, _ -> String in
            try await Self.wait(microseconds: 20_000)
            return "steady"
        }
        router.get("slow-able") { _, _ -> String in
            try await Self.wait(microseconds: 20_000 + delay.extra.value)
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
    private func runs(_ count: Int, _ base: String, into directory: String, name: String, extra: String = "") async throws -> BenchResult {
        let out = "\(directory)/\(name)"
        let run = try await bench("run '\(directory)/two.yaml' --target \(base) --repeat \(count) --progress none --out '\(out)' \(extra)")
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

    /// Diffs `pairs` (base runs, new runs of `same`) with `arguments`; the outputs of those that called anything or
    /// failed.
    private func alarms(_ same: BenchResult, _ pairs: [([Int], [Int])], mode: String, arguments: String, in directory: String) async throws -> [String] {
        var alarms: [String] = []
        for (index, pair) in pairs.enumerated() {
            let a = try keep(same, pair.0, at: "\(directory)/\(mode)-a\(index).json")
            let b = try keep(same, pair.1, at: "\(directory)/\(mode)-b\(index).json")
            let diff = try await bench("diff '\(a)' '\(b)' --fail-on-regression 5% \(arguments) --out '\(directory)/diffs'")
            if diff.status != 0 || diff.output.contains("REGRESSED") || diff.output.contains("IMPROVED") { alarms.append(diff.output) }
        }
        return alarms
    }

    @Test(
        "same build: at most 1 false alarm in 20 diffs in every mode (one run a side, calibrated or not; two a side); +10 % on one route: called with 5 runs a side"
    )
    func falseAlarmsAndRegression() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-diff-\(TestEnvironment.uniqueSuffix())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.scenario.write(toFile: "\(directory)/two.yaml", atomically: true, encoding: .utf8)
        let delay = Delay()
        try await withHTTPTestServer(router(delay)) { base in
            // 80 runs of the same build in a row (1 s each). The last 40 calibrate this machine; the first 40 make 20
            // one-run-a-side diffs (2k against 2k+1), without and with the calibration; all 80 make 20 two-a-side diffs
            // (4k and 4k+2 against 4k+1 and 4k+3, interleaved as a CI job alternating base and new would).
            let same = try await runs(80, base, into: directory, name: "same")
            let calibration = "\(directory)/calibration.json"
            let calibrated = try await bench("calibrate '\(try keep(same, Array(40..<80), at: "\(directory)/aa.json"))' --out '\(calibration)'")
            try #require(calibrated.status == 0, "\(calibrated.output)")
            let single = (0..<20).map { ([2 * $0], [2 * $0 + 1]) }
            let uncalibrated = try await alarms(same, single, mode: "one", arguments: "--calibration none", in: directory)
            #expect(uncalibrated.isEmpty, "one run a side, no calibration: \(uncalibrated.count) alarms in 20:\n\(uncalibrated.joined(separator: "\n"))")
            let oneCalibrated = try await alarms(same, single, mode: "cal", arguments: "--calibration '\(calibration)'", in: directory)
            #expect(oneCalibrated.count <= 1, "one run a side, calibrated: \(oneCalibrated.count) alarms in 20:\n\(oneCalibrated.joined(separator: "\n"))")
            let two = (0..<20).map { ([4 * $0, 4 * $0 + 2], [4 * $0 + 1, 4 * $0 + 3]) }
            let twoEach = try await alarms(same, two, mode: "two", arguments: "--calibration none", in: directory)
            #expect(twoEach.count <= 1, "two runs a side: \(twoEach.count) alarms in 20:\n\(twoEach.joined(separator: "\n"))")

            // The same server with 2 ms (10 %) more on one route; five runs a side of 2 s each, interleaved: base, slower,
            // base, slower … so that whatever else the machine does meanwhile weighs on both sides alike.
            var (baseRuns, slowerRuns): ([BenchResult], [BenchResult]) = ([], [])
            for round in 0..<5 {
                delay.extra.withLock { $0 = 0 }
                baseRuns.append(try await runs(1, base, into: directory, name: "base-\(round)", extra: "--duration 2s"))
                delay.extra.withLock { $0 = 2_000 }
                slowerRuns.append(try await runs(1, base, into: directory, name: "slower-\(round)", extra: "--duration 2s"))
            }
            let baseFile = try keep(baseRuns, at: "\(directory)/base.json")
            let newFile = try keep(slowerRuns, at: "\(directory)/new.json")
            let diff = try await bench("diff '\(baseFile)' '\(newFile)' --fail-on-regression 1% --calibration none --out '\(directory)/regression'")
            #expect(diff.status == 1, "a regression certainly beyond 1 % fails the build: \(diff.output)")
            #expect(diff.output.contains("REGRESSED: steady-state / slow-able p50"), "\(diff.output)")
            #expect(!diff.output.contains("REGRESSED: steady-state / steady p50"), "the untouched route's latency did not change: \(diff.output)")
            let json = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(directory)/regression").first { $0.hasSuffix(".json") })
            let report = try JSONDecoder().decode(RunDiff.self, from: Data(contentsOf: URL(fileURLWithPath: "\(directory)/regression/\(json)")))
            let line = try #require(report.lines.first { $0.route == "slow-able" && $0.metric == .p50 })
            // Called: its whole interval beyond the 3 % noise band. The measured shift is what the server added over its
            // own overhead (7–10 % here).
            #expect(line.verdict == .regressed && abs((line.change?.change ?? 0) - 0.1) < 0.05, "\(line)")
        }
    }
}
