import Foundation
import HappeningCommandLine
import HappeningSystem
import Testing

@testable import HappeningBench
@testable import HappeningLoad

@Suite("Shards: shares add up to the whole; merging shard files is exact")
struct ShardTests {
    @Test("connections, budgets, rates and user slices of N parts add up to the whole; no user is in two parts", arguments: [1, 2, 3, 4, 7])
    func sharesAddUp(parts: Int) throws {
        for total in [parts, 10, 999, 40_000, 40_001] {
            let shards = (0..<parts).map { Shard(index: $0, count: parts) }
            #expect(shards.map { $0.share(of: total) }.reduce(0, +) == total)
            #expect(shards.map { $0.share(of: total) }.allSatisfy { abs($0 - total / parts) <= 1 })
            // Users: the slices tile the range in order (disjoint, nothing left out).
            let whole = 5..<(5 + total)
            let slices = shards.map { $0.slice(of: whole) }
            #expect(slices.first?.lowerBound == whole.lowerBound && slices.last?.upperBound == whole.upperBound)
            for (a, b) in zip(slices, slices.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
            #expect(Set(slices.flatMap { Array($0) }).count == total)
            // A phase's connections and request budget, and an open phase's rate.
            let phase = Scenario.Phase(name: "rush", model: .barrier, connections: total, max_requests: total * 3)
            let applied = try shards.map { try $0.apply(to: phase) }
            #expect(applied.map(\.connections).reduce(0, +) == total)
            #expect(applied.compactMap(\.max_requests).reduce(0, +) == total * 3)
            #expect(zip(applied, slices).allSatisfy { $0.connections == $1.count }, "a barrier's connection i is user i of the part's slice")
            let rates = shards.map { $0.share(of: RateSpec(from: 100, to: 2_000)) }
            #expect(abs(rates.map(\.from).reduce(0, +) - 100) < 1e-9 && abs(rates.map(\.to).reduce(0, +) - 2_000) < 1e-9)
        }
    }

    @Test("a tokens file: a shard's window is all it decodes; indices wrap round the file, and into the window")
    func tokenWindow() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let lines = (0..<10).map { #"{"user_id":"u\#($0)","email":"u\#($0)@x","token":"t\#($0)"}"# }
        // Line 7 is not JSON: a window that leaves it out never decodes it.
        try (lines[0..<7] + ["not json"] + lines[8...]).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let slice = try VirtualUsers.load(path: path) { count in
            #expect(count == 10)
            return Shard(index: 1, count: 3).slice(of: 0..<count)
        }
        #expect(slice.count == 10 && slice.window == 4..<7)
        #expect((4..<7).map { slice[$0].token } == ["t4", "t5", "t6"])
        #expect(slice[14].token == "t4", "wrapped round the file's 10")
        #expect(slice[0].token == slice[3].token, "outside the window: wrapped into it")
        #expect(throws: UsageError.self) { try VirtualUsers.load(path: path) { _ in nil } }
    }

    @Test("I/N is parsed 0-based; a phase too small for the fleet is refused")
    func parsing() throws {
        #expect(try Shard(parsing: "3/4") == Shard(index: 3, count: 4))
        for bad in ["4/4", "-1/4", "1", "a/b", "0/0", "1/2/3"] { #expect(throws: UsageError.self) { try Shard(parsing: bad) } }
        #expect(throws: UsageError.self) { try Shard(index: 0, count: 4).apply(to: Scenario.Phase(name: "tiny", model: .closed, connections: 3)) }
    }

    @Test("merge of four shard files: exactly the histogram and counts of all their samples, the start skew, every part once")
    func mergeIsExact() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shards-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let latencies = (0..<20_000).map { UInt64(40 + ($0 * 7_919) % 250_000) }  // µs, 40 µs … 250 ms
        var whole = LatencyHistogram()
        for micros in latencies { whole.record(nanoseconds: micros * 1_000) }
        var paths: [String] = []
        for part in 0..<4 {
            let mine = latencies.enumerated().filter { $0.offset % 4 == part }.map(\.element)
            // Part k's first request leaves 1.5 ms × k after part 0's.
            let phase = Self.phase(latencies: mine, firstSentOffset: UInt64(part) * 1_500_000)
            var run = BenchResult.Run(label: "run", target: "http://127.0.0.1:1", phases: [phase], ledger: nil)
            run.shard = ShardReport(index: part, count: 4)
            let result = BenchResult(
                scenario: "shards", description: nil, started_at: BenchResult.timestamp(), command: "test", machine: .current, versions: .current,
                variables: [:], runs: [run], ratios: nil, thresholds: [], passed: true)
            let path = "\(directory)/shard-\(part).json"
            try JSONEncoder().encode(result).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        let merged = try await ResultMerger.merge(paths)
        let phase = merged.runs[0].phases[0]
        #expect(phase.histogram == whole.encoded)
        // The percentiles a result file gives (from its histogram) are the same too.
        #expect(phase.latency == LatencyHistogram(whole.encoded).summary)
        #expect(phase.requests == 20_000 && phase.body_bytes == 20_000 * 10 && phase.processes == 4)
        #expect(phase.templates.first?.histogram == whole.encoded)
        let skew = try #require(phase.shard_start_skew_ms)
        #expect(abs(skew - 4.5) < 0.01, "\(skew) ms")
        #expect(merged.runs[0].shard == nil)

        // Every part once: a missing or repeated part is refused.
        await #expect(throws: UsageError.self) { try await ResultMerger.merge(Array(paths.dropLast())) }
        await #expect(throws: UsageError.self) { try await ResultMerger.merge(paths.dropLast() + [paths[0]]) }
    }

    /// One part's phase: one request per latency, all sent `firstSentOffset` ns after a common instant.
    private static func phase(latencies: [UInt64], firstSentOffset: UInt64) -> PhaseResult {
        let start: UInt64 = 1_000_000_000_000
        // One wall start for every part: the skew measured is then exactly the 1.5 ms offsets between their first sends.
        let clock = PhaseClock(monotonicStart: start, wallStartMicros: 1_800_000_000_000_000)
        let feed = LiveFeed()
        let recorder = PhaseRecorder(templates: [TemplateInfo(name: "static", weight: 1, expect: [200])], clock: clock, feed: feed)
        let request = PreparedRequest(url: "http://127.0.0.1:1/static")
        for (index, micros) in latencies.enumerated() {
            let sent = start + firstSentOffset + UInt64(index) * 1_000
            recorder.record(
                LoadCompletion(
                    connection: 0, request: request, intendedStart: sent, actualStart: sent, end: sent + micros * 1_000, status: 200, curlError: nil,
                    bodyBytes: 10, cacheHit: nil, body: nil))
        }
        recorder.finish()
        return PhaseResult(phase: Scenario.Phase(name: "steady", model: .closed, connections: 1), recorders: [recorder], feed: feed, clock: clock, abandoned: 0)
    }
}
