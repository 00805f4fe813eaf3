import Foundation
import Hummingbird
import Synchronization
import TestSupport
import Testing

@testable import HappeningBench

/// Runs `happening-bench` (built beside the tests) with `arguments`, off the cooperative pool; returns its exit
/// status and output.
func bench(_ arguments: String, environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
    try await TestEnvironment.shellOffPool("'\(ChildProcess.binary("happening-bench"))' \(arguments)", environment: environment)
}

@Suite("Bench: the command line", .timeLimit(.minutes(10)))
struct BenchCommandTests {
    @Test("targets outside loopback are refused unless named with --allow-host; usage errors exit 2")
    func usage() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-usage-\(TestEnvironment.uniqueSuffix())").path
        let waitsFirst = out + "-waits-first.yaml"
        try """
        name: waits-first
        requests: [{ name: live, path: /api/health/live }]
        phases: [{ name: only, model: closed, connections: 1, duration: 1s, after_faults: true }]
        faults: [{ at: 1s, action: stop-cache }]
        """.write(toFile: waitsFirst, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: waitsFirst) }
        for (arguments, needle) in [
            ("run scenarios/homepage.yaml --target http://10.11.12.13:5000 --out \(out)", "not loopback"),
            ("run scenarios/homepage.yaml --target http://nonexistent.invalid --out \(out)", "does not resolve"),
            ("run scenarios/homepage.yaml --target ftp://127.0.0.1 --out \(out)", "not an http(s) URL"),
            ("run scenarios/nope.yaml --target http://127.0.0.1:1 --out \(out)", "cannot read scenario file"),
            ("run scenarios/homepage.yaml --target http://127.0.0.1:1 --out \(out)", "cannot reach the target"),
            ("run scenarios/homepage.yaml --threads 0 --out \(out)", "--threads"),
            ("run scenarios/homepage.yaml --rate fast --out \(out)", "--rate"),
            ("merge only-one.json", "at least two"),
            ("run \(waitsFirst) --target http://127.0.0.1:1 --out \(out)", "after_faults needs an earlier phase"),
        ] {
            let result = try await bench(arguments)
            #expect(result.status == 2, "\(arguments): \(result.status) \(result.output)")
            #expect(result.output.contains(needle), "\(arguments): \(result.output)")
        }
    }
}

extension BenchCommandTests {
    @Test("gate refuses a port something else already answers on (it would measure that instead of its own server)")
    func gatePortHeld() async throws {
        let router = Router()
        router.get("api/health") { _, _ in "someone else" }
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("gate-port-\(TestEnvironment.uniqueSuffix())").path
        defer { try? FileManager.default.removeItem(atPath: logs) }
        try await withHTTPTestServer(router) { base in
            let port = try #require(base.split(separator: ":").last)
            let result = try await bench("gate scenarios/flash-sale-ci.yaml --port \(port) --logs \(logs) --out \(logs)")
            #expect(result.status != 0, "\(result.output)")
            #expect(result.output.contains("already answers"), "\(result.output)")
        }
    }
}

/// The real server and worker binaries with a queue of their own, for a flash sale.
struct FlashSaleStack {
    let port: Int
    let queue: String
    let prefix: String
    let server: ChildProcess

    /// `admissionGate`: the server's `ADMISSION_GATE` (off queues every request, so the worker alone decides).
    static func start(admissionGate: Bool = true) async throws -> FlashSaleStack {
        let queue = "bench-test-\(TestEnvironment.uniqueSuffix())"
        let prefix = "bench-test-\(TestEnvironment.uniqueSuffix()):"
        let (server, port) = try await ChildProcess.startServing("happening-server", path: "/api/health") { port in
            [
                "DATABASE_URL": TestEnvironment.databaseURL, "REDIS_URL": TestEnvironment.redisURL, "AMQP_URL": TestEnvironment.amqpURL,
                "JWT_SECRET": TestEnvironment.value("JWT_SECRET"), "PORT": String(port), "BOOKING_QUEUE": queue,
                "CACHE_PREFIX": prefix, "LOG_LEVEL": "error", "ADMISSION_GATE": admissionGate ? "on" : "off",
            ]
        }
        return FlashSaleStack(port: port, queue: queue, prefix: prefix, server: server)
    }

    func worker(_ arguments: String) async throws -> ChildProcess {
        try await ChildProcess.start(
            "happening-worker", arguments: "run \(arguments)",
            environment: [
                "DATABASE_URL": TestEnvironment.databaseURL, "REDIS_URL": TestEnvironment.redisURL, "AMQP_URL": TestEnvironment.amqpURL,
                "BOOKING_QUEUE": queue, "CACHE_PREFIX": prefix, "LOG_LEVEL": "error",
            ])
    }

    func flashSale(users: Int, tickets: Int) async throws -> (status: Int32, output: String) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-flash-\(TestEnvironment.uniqueSuffix())").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        return try await bench(
            "run scenarios/flash-sale-ci.yaml --target http://127.0.0.1:\(port) --set users=\(users) --set tickets=\(tickets) --progress none --out '\(out)'",
            environment: ["DATABASE_URL": TestEnvironment.databaseURL, "JWT_SECRET": TestEnvironment.value("JWT_SECRET")])
    }
}

@Suite("Bench: the flash-sale verdict", .serialized, .timeLimit(.minutes(10)))
struct FlashSaleVerdictTests {
    @Test("against the safe worker the flash sale passes (admission gate on); against --strategy unsafe with default flags it fails naming the oversell")
    func verdicts() async throws {
        let stack = try await FlashSaleStack.start()
        try await stack.server.whileRunning {
            let safe = try await stack.worker("--strategy for-update --prefetch 50 --concurrency 4")
            let passing = try await stack.flashSale(users: 400, tickets: 10)
            await safe.terminate()
            #expect(passing.status == 0, "\(passing.output)")
            #expect(passing.output.contains("PASS"))
            #expect(passing.output.contains("held 10"))

            // The admission gate queues about as many jobs as there are tickets, which hides a worker's race in a
            // barrier; the negative test measures the worker itself, so its server queues every request. Default
            // --concurrency and --prefetch: the gate's power to catch a race must not depend on a flag (with a
            // prefetch of 1 the broker handed out one job at a time and the unsafe worker never raced itself). The race
            // window is widened to 50 ms: with its default 2 ms, beside stress-ng, the jobs trickled in and were
            // decided one at a time, and nothing oversold.
            let ungated = try await FlashSaleStack.start(admissionGate: false)
            try await ungated.server.whileRunning {
                let unsafe = try await ungated.worker("--strategy unsafe --i-know-this-oversells --unsafe-race-window-ms 50")
                let failing = try await ungated.flashSale(users: 400, tickets: 10)
                await unsafe.terminate()
                #expect(failing.status == 1, "\(failing.output)")
                #expect(failing.output.contains("OVERSOLD by"), "\(failing.output)")
            }
        }
    }
}

@Suite("Bench: the gate", .serialized, .timeLimit(.minutes(10)))
struct GateCommandTests {
    /// `happening-bench gate scenarios/flash-sale-ci.yaml` at test size on a port of its own; the exit status, the
    /// output and the directory holding the logs and pid files.
    private func gate(_ extra: String) async throws -> (status: Int32, output: String, logs: String) {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("bench-gate-\(TestEnvironment.uniqueSuffix())").path
        let result = try await bench(
            "gate scenarios/flash-sale-ci.yaml --workers 2 --port \(TestPorts.next()) --logs '\(logs)' --out '\(logs)' --progress none "
                + "--junit '\(logs)/junit.xml' --summary '\(logs)/summary.md' --set users=300 --set tickets=10 \(extra)",
            environment: [
                "DATABASE_URL": TestEnvironment.databaseURL, "REDIS_URL": TestEnvironment.redisURL, "AMQP_URL": TestEnvironment.amqpURL,
                "JWT_SECRET": TestEnvironment.value("JWT_SECRET"),
            ])
        return (result.status, result.output, logs)
    }

    /// The pids the gate's workers last had (a worker the Bench replaced has a new one).
    private func workerPids(in logs: String) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: logs)) ?? []).filter { $0.hasSuffix(".pid") }.compactMap { name in
            (try? String(contentsOfFile: "\(logs)/\(name)", encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }

    /// Exited: no such process, or one that only waits to be reaped.
    private static func isGone(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    @Test("gate starts a server and workers, passes a safe sale, fails an unsafe one naming the oversell, and leaves no process behind")
    func verdicts() async throws {
        let safe = try await gate("")
        defer { try? FileManager.default.removeItem(atPath: safe.logs) }
        #expect(safe.status == 0, "\(safe.output)")
        #expect(safe.output.contains("PASS") && safe.output.contains("held 10"), "\(safe.output)")
        // The JUnit file lists every threshold of the scenario and every ledger invariant, all passing.
        let junit = try await JUnitFile(path: safe.logs + "/junit.xml")
        let thresholds = ["oversold == 0", "conservation_error == 0", "undecided == 0", "phantom == 0", "held_mismatch == 0", "duplicates == 0"]
        #expect(Set(thresholds).isSubset(of: Set(junit.cases.map(\.name))), "\(junit.cases)")
        #expect(junit.cases.contains { $0.name == "held <= total (no oversell)" } && junit.cases.allSatisfy { $0.failure == nil }, "\(junit.cases)")
        #expect(safe.output.contains("junit: \(safe.logs)/junit.xml"), "\(safe.output)")
        // What customers were told: every accepted booking followed to its outcome (all 10 confirmed), every check
        // passing, each a JUnit case.
        let resultFile = try #require(try FileManager.default.contentsOfDirectory(atPath: safe.logs).first { $0.hasSuffix("flash-sale-ci.json") })
        let result = try JSONDecoder().decode(BenchResult.self, from: Data(contentsOf: URL(fileURLWithPath: "\(safe.logs)/\(resultFile)")))
        let history = try #require(result.runs.first?.history)
        #expect(history.followed == 10 && history.told == ["confirmed": 10] && history.answers["202"] == 10, "\(history)")
        #expect(history.answers["422 sold_out"] == 290, "\(history.answers)")
        #expect(
            history.checks.map(\.metric) == ["false_sold_out", "told_mismatch", "read_your_writes", "not_linearizable"] && history.passed, "\(history.checks)")
        #expect(
            history.checks[0].checked == 290 && history.checks[1].checked == 10 && history.checks[2].checked == 10 && history.checks[3].skipped != nil,
            "\(history.checks)")
        #expect(junit.cases.contains { $0.name == "no false sold-out (lost sales)" && $0.failure == nil }, "\(junit.cases)")
        #expect(try String(contentsOfFile: safe.logs + "/summary.md", encoding: .utf8).hasPrefix("### ✔ happening-bench flash-sale-ci: PASS"))
        let pids = workerPids(in: safe.logs)
        #expect(pids.count == 2)
        for pid in pids {
            try await eventually("worker \(pid) to be gone", within: Patience.standard) { Self.isGone(pid) }
        }

        // The unsafe strategy oversells when decisions overlap; a 50 ms race window makes them overlap on a starved
        // machine too (with 2 ms, beside stress-ng, the jobs trickled in and were decided one at a time: no oversell).
        let unsafe = try await gate(
            "--strategy unsafe --worker-argument=--i-know-this-oversells --worker-argument=--unsafe-race-window-ms=50 --server-env ADMISSION_GATE=off")
        defer { try? FileManager.default.removeItem(atPath: unsafe.logs) }
        #expect(unsafe.status == 1, "\(unsafe.output)")
        #expect(unsafe.output.contains("OVERSOLD by") && unsafe.output.contains("FAILED; the report"), "\(unsafe.output)")
        let failed = try await JUnitFile(path: unsafe.logs + "/junit.xml")
        #expect(failed.cases.contains { $0.name == "held <= total (no oversell)" && $0.failure?.hasPrefix("OVERSOLD by") == true }, "\(failed.cases)")
        #expect(failed.cases.contains { $0.name == "oversold == 0" && $0.failure != nil }, "\(failed.cases)")
    }

    @Test("a server that never comes up fails the gate (exit 1) with its log, and the workers are stopped")
    func serverDown() async throws {
        let broken = try await gate("--server-env PORT=70000 --ready-timeout 20")
        defer { try? FileManager.default.removeItem(atPath: broken.logs) }
        #expect(broken.status == 1, "\(broken.output)")
        #expect(broken.output.contains("the server exited") || broken.output.contains("did not answer"), "\(broken.output)")
        for pid in workerPids(in: broken.logs) {
            try await eventually("worker \(pid) to be gone", within: Patience.standard) { Self.isGone(pid) }
        }
    }
}

@Suite("Bench: several processes, one result", .timeLimit(.minutes(10)))
struct MergeProcessesTests {
    @Test("two processes started together with --start-at merge into one result: counts add up, histograms combine exactly")
    func twoProcesses() async throws {
        let router = Router()
        router.get("api/health") { _, _ in "ok" }
        router.get("item") { _, _ -> String in
            try await Task.sleep(for: .milliseconds(3))
            return "item"
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-merge-\(TestEnvironment.uniqueSuffix())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let scenario = directory + "/two.yaml"
        try """
        name: two
        requests:
          - { name: item, path: /item, expect: [200] }
        phases:
          - { name: steady, model: closed, connections: 4, max_requests: 300 }
        thresholds: ["steady.error_rate == 0%"]
        """.write(toFile: scenario, atomically: true, encoding: .utf8)
        let startedAt = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 3).rounded(.down))
        try await withHTTPTestServer(router) { base in
            let start = ISO8601DateFormatter().string(from: startedAt)
            async let first = bench("run '\(scenario)' --target \(base) --start-at \(start) --progress none --out '\(directory)/a'")
            async let second = bench("run '\(scenario)' --target \(base) --start-at \(start) --progress none --out '\(directory)/b'")
            let (resultA, resultB) = try await (first, second)
            #expect(resultA.status == 0, "\(resultA.output)")
            #expect(resultB.status == 0, "\(resultB.output)")
        }
        func onlyJSON(_ folder: String) throws -> String {
            let name = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first { $0.hasSuffix(".json") })
            return folder + "/" + name
        }
        let fileA = try onlyJSON(directory + "/a")
        let fileB = try onlyJSON(directory + "/b")
        let merge = try await bench("merge '\(fileA)' '\(fileB)' --out '\(directory)/merged'")
        #expect(merge.status == 0, "\(merge.output)")
        let decoder = JSONDecoder()
        let a = try decoder.decode(BenchResult.self, from: Data(contentsOf: URL(fileURLWithPath: fileA))).runs[0].phases[0]
        let b = try decoder.decode(BenchResult.self, from: Data(contentsOf: URL(fileURLWithPath: fileB))).runs[0].phases[0]
        let merged = try decoder.decode(BenchResult.self, from: Data(contentsOf: URL(fileURLWithPath: try onlyJSON(directory + "/merged")))).runs[0].phases[0]
        #expect(merged.requests == 600)
        #expect(merged.processes == 2)
        #expect(merged.histogram.total == a.histogram.total + b.histogram.total)
        var expected = LatencyHistogram(a.histogram)
        expected.add(LatencyHistogram(b.histogram))
        #expect(merged.latency == expected.summary)
        #expect(merged.latency.p50 >= 3_000)
        // Started together, at the agreed instant (not before): the first requests went out within 100 ms of each other.
        #expect(abs(a.started_at_micros - b.started_at_micros) < 100_000, "\(a.started_at_micros) vs \(b.started_at_micros)")
        #expect(Double(a.started_at_micros) / 1e6 >= startedAt.timeIntervalSince1970 - 0.1)
    }
}

@Suite("Bench: latency by status", .timeLimit(.minutes(10)))
struct StatusLatencyTests {
    @Test("202s and 422s get a histogram each: in the JSON, the reports and the console line, and merged exactly")
    func byStatus() async throws {
        let answered = Mutex([Int: Int]())
        let router = Router()
        router.get("api/health") { _, _ in "ok" }
        router.get("book") { _, _ -> Response in
            // Every third request is queued (slow), the rest are refused at once, like a flash sale after it sold out.
            let queued = answered.withLock { counts -> Bool in
                let queued = (counts.values.reduce(0, +)) % 3 == 0
                counts[queued ? 202 : 422, default: 0] += 1
                return queued
            }
            if queued { try await Task.sleep(for: .milliseconds(20)) }
            return Response(status: queued ? .accepted : .unprocessableContent)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-status-\(TestEnvironment.uniqueSuffix())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let scenario = directory + "/status.yaml"
        try """
        name: status
        requests:
          - { name: book, path: /book, expect: [202, 422] }
        phases:
          - { name: intake, model: closed, connections: 4, max_requests: 300 }
        """.write(toFile: scenario, atomically: true, encoding: .utf8)
        let run = try await withHTTPTestServer(router) { base in
            try await bench("run '\(scenario)' --target \(base) --progress none --out '\(directory)/run'")
        }
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("by status: 202 ×"), "\(run.output)")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory + "/run")
        let json = directory + "/run/" + (try #require(files.first { $0.hasSuffix(".json") }))
        let phase = try JSONDecoder().decode(BenchResult.self, from: Data(contentsOf: URL(fileURLWithPath: json))).runs[0].phases[0]
        let byStatus = try #require(phase.status_latency)
        let counts = answered.withLock { $0 }
        #expect(byStatus.map(\.status) == ["202", "422"])
        #expect(byStatus.map(\.requests) == [UInt64(counts[202] ?? 0), UInt64(counts[422] ?? 0)], "every answer counted under its status")
        #expect(byStatus[0].latency.p50 >= 20_000, "the queued answers' own latency: \(byStatus[0].latency)")
        let markdown = try String(contentsOfFile: directory + "/run/" + (try #require(files.first { $0.hasSuffix(".md") })), encoding: .utf8)
        #expect(markdown.contains("### Latency by status") && markdown.contains("| intake | 422 |"), "\(markdown)")

        let merge = try await bench("merge '\(json)' '\(json)' --out '\(directory)/merged'")
        #expect(merge.status == 0, "\(merge.output)")
        let mergedFile = try #require(try FileManager.default.contentsOfDirectory(atPath: directory + "/merged").first { $0.hasSuffix(".json") })
        let merged = try JSONDecoder().decode(BenchResult.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/merged/" + mergedFile))).runs[0]
            .phases[0]
        #expect(merged.status_latency?.map(\.requests) == byStatus.map { $0.requests * 2 })
        #expect(merged.status_latency?.first?.latency.p50 == byStatus[0].latency.p50, "the same samples twice: the same percentiles")
    }
}
