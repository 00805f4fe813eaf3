import Foundation
import TestSupport
import Testing

@testable import HappeningBench

/// A fleet of two shard processes against one real server and worker: the setup runs once, both shards fire at one
/// `--start-at`, each with its own users, and `merge` checks the ledger once over both shards' accepted bookings.
@Suite("Bench: a fleet of shards", .serialized, .timeLimit(.minutes(10)))
struct ShardFleetTests {
    @Test("setup once; two shards with disjoint users fire at one instant; merge: every request, the ledger over both, the start skew")
    func twoShards() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-fleet-\(TestEnvironment.uniqueSuffix())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let environment = ["DATABASE_URL": TestEnvironment.databaseURL, "JWT_SECRET": TestEnvironment.value("JWT_SECRET")]
        let stack = try await FlashSaleStack.start(admissionGate: false)
        try await stack.server.whileRunning {
            let worker = try await stack.worker("--strategy for-update")
            try await worker.whileRunning {
                let setup = try await bench(
                    "setup scenarios/flash-sale-ci.yaml --dir '\(directory)/setup' --set users=300 --set tickets=20 --progress none", environment: environment)
                try #require(setup.status == 0, "\(setup.output)")
                // Far enough ahead for both processes to start and open their connections on a busy machine.
                let startAt = ISO8601DateFormatter().string(from: Date().addingTimeInterval(15))
                async let first = shard(0, directory: directory, port: stack.port, startAt: startAt, environment: environment)
                async let second = shard(1, directory: directory, port: stack.port, startAt: startAt, environment: environment)
                let (a, b) = try await (first, second)
                for (index, run) in [a, b].enumerated() {
                    #expect(run.status == 0, "shard \(index): \(run.output)")
                    #expect(run.output.contains("deferred") == false, "shard \(index): \(run.output)")
                }
                let files = try [0, 1].map { index in
                    let out = "\(directory)/out-\(index)"
                    return try "\(out)/" + #require(try FileManager.default.contentsOfDirectory(atPath: out).first { $0.hasSuffix(".json") })
                }
                let parts = try files.map(BenchResult.load)
                #expect(parts.map { $0.runs[0].phases[0].connections } == [150, 150])
                #expect(parts.allSatisfy { $0.runs[0].ledger == nil && $0.runs[0].shard?.accepted != nil })
                // The ledger's thresholds wait for merge; the phase's own are checked by each shard.
                for part in parts {
                    #expect(part.thresholds.filter { !$0.expression.hasPrefix("intake.") }.allSatisfy { $0.deferred == true }, "\(part.thresholds)")
                    #expect(part.thresholds.filter { $0.expression.hasPrefix("intake.") }.allSatisfy { $0.passed && $0.deferred == nil })
                }

                let merged = try await bench("merge '\(files[0])' '\(files[1])' --out '\(directory)/merged'", environment: environment)
                #expect(merged.status == 0, "\(merged.output)")
                let json = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(directory)/merged").first { $0.hasSuffix(".json") })
                let result = try BenchResult.load("\(directory)/merged/\(json)")
                let phase = result.runs[0].phases[0]
                #expect(phase.requests == 300 && phase.processes == 2, "\(phase.requests) requests from \(phase.processes) processes")
                #expect(phase.shard_start_skew_ms != nil && merged.output.contains("start skew"), "\(merged.output)")
                let ledger = try #require(result.runs[0].ledger, "\(merged.output)")
                let accepted = parts.reduce(0) { $0 + ($1.runs[0].phases[0].statuses["202"] ?? 0) }
                #expect(ledger.accepted == Int(accepted) && ledger.oversold == 0 && ledger.passed, "\(ledger.violations)")
                #expect(ledger.duplicate_users == nil || ledger.duplicate_users == 0, "the shards' users are disjoint")
                #expect(result.thresholds.allSatisfy { $0.passed && $0.deferred == nil }, "\(result.thresholds)")
            }
        }
    }

    private func shard(_ index: Int, directory: String, port: Int, startAt: String, environment: [String: String]) async throws -> (
        status: Int32, output: String
    ) {
        try await bench(
            "run scenarios/flash-sale-ci.yaml --target http://127.0.0.1:\(port) --setup-dir '\(directory)/setup' --shard \(index)/2 "
                + "--start-at \(startAt) --progress none --out '\(directory)/out-\(index)'", environment: environment)
    }
}
