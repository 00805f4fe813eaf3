import Foundation
import HappeningHTTP
import HappeningSystem
import TestSupport
import Testing

@testable import HappeningBench

#if canImport(Glibc)
    import Glibc
#endif

/// A target with a known cost: every request to `/burn` spends `burn` seconds of its thread's CPU before it answers,
/// and `/metrics` exposes `process_cpu_seconds_total` (Python's standard library, a thread per connection; its own work is a few
/// hundred µs, small beside the burn).
private let burner = """
    import http.server, sys, time
    BURN = float(sys.argv[2])
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_GET(self):
            if self.path == "/metrics":
                body = ("process_cpu_seconds_total %f\\n" % time.process_time()).encode()
            else:
                end = time.thread_time() + BURN
                while time.thread_time() < end:
                    pass
                body = b"ok"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass
    http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
    """

@Suite("Bench: the target's CPU per request", .serialized, .timeLimit(.minutes(10)))
struct TargetCPUTests {
    @Test("a stat line's utime and stime, a name with spaces and parentheses included; process_cpu_seconds_total from an exposition")
    func parsing() {
        let stat = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 0 0"
        #expect(TargetCPU.processSeconds(stat: stat, ticksPerSecond: 100) == 3.0)
        #expect(TargetCPU.metricsSeconds(exposition: "# TYPE x gauge\nprocess_cpu_seconds_total_other 9\nprocess_cpu_seconds_total 12.5\n") == 12.5)
        #expect(TargetCPU.metricsSeconds(exposition: "nothing here\n") == nil)
        let report = TargetCPUReport(source: "pid 1", before: 10, after: 10.5, requests: 1_000)
        #expect(report.per_request_us == 500 && report.cpu_seconds == 0.5)
    }

    @Test("a target that burns 20 ms of CPU per request reads back within 10 %, from /proc and from its metrics")
    func knownCost() async throws {
        let port = TestPorts.next()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("target-cpu-\(TestEnvironment.uniqueSuffix())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try burner.write(toFile: directory + "/burner.py", atomically: true, encoding: .utf8)
        try "name: cpu\nrequests: [{ name: burn, path: /burn, expect: [200] }]\nphases: [{ name: steady, model: closed, connections: 1, max_requests: 40 }]\n"
            .write(toFile: directory + "/cpu.yaml", atomically: true, encoding: .utf8)
        // Started apart from the test's own output (a child holding it open would keep the test run waiting).
        let started = try await TestEnvironment.shellOffPool("python3 '\(directory)/burner.py' \(port) 0.020 >/dev/null 2>&1 & echo $!")
        let pid = try #require(Int32(started.output.trimmingCharacters(in: .whitespacesAndNewlines)), "\(started.output)")
        defer { kill(pid, SIGKILL) }
        let base = "http://127.0.0.1:\(port)"
        try await eventually("the burner to answer") {
            (try? await TestHTTP.send(HTTPClientRequest(url: base + "/metrics")))?.status
        } until: {
            $0 == 200
        }

        // A lane that starts later: its phase's CPU is read from its start, not from the run's (lane `early` burns
        // 10 × 20 ms before it; read from the run's start, `late` showed about 40 ms per request).
        try """
        name: cpu-lanes
        requests: [{ name: burn, path: /burn, expect: [200] }]
        lanes:
          - { name: early, requests: [burn], phases: [{ name: first, model: closed, connections: 1, max_requests: 10 }] }
          - { name: late, start: 3s, requests: [burn], phases: [{ name: second, model: closed, connections: 1, max_requests: 10 }] }
        """.write(toFile: directory + "/lanes.yaml", atomically: true, encoding: .utf8)
        let lanes = try await bench("run '\(directory)/lanes.yaml' --target \(base) --target-pid \(pid) --out '\(directory)/lanes' --progress none")
        try #require(lanes.status == 0, "\(lanes.output)")
        let lanesFile = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(directory)/lanes").first { $0.hasSuffix(".json") })
        let lanePhases = try JSONDecoder().decode(BenchResult.self, from: Data(contentsOf: URL(fileURLWithPath: "\(directory)/lanes/\(lanesFile)")))
            .runs[0].phases
        let late = try #require(lanePhases.first { $0.name == "second" }?.target_cpu?.per_request_us)
        #expect(abs(late - 20_000) / 20_000 < 0.10, "the late lane: \(late) µs per request")

        for (name, source) in [("proc", "--target-pid \(pid)"), ("metrics", "--target-metrics \(base)/metrics")] {
            let out = "\(directory)/\(name)"
            let run = try await bench("run '\(directory)/cpu.yaml' --target \(base) \(source) --out '\(out)' --progress none")
            try #require(run.status == 0, "\(run.output)")
            #expect(run.output.contains("target CPU"), "the console line names it: \(run.output)")
            let files = try FileManager.default.contentsOfDirectory(atPath: out)
            let file = try #require(files.first { (name: String) in name.hasSuffix(".json") })
            let phase = try JSONDecoder().decode(BenchResult.self, from: Data(contentsOf: URL(fileURLWithPath: "\(out)/\(file)"))).runs[0].phases[0]
            let perRequest = try #require(phase.target_cpu?.per_request_us, "\(name)")
            #expect(phase.requests == 40)
            #expect(abs(perRequest - 20_000) / 20_000 < 0.10, "\(name): \(perRequest) µs per request")
            #expect(Thresholds.evaluate("steady.target_cpu_per_request < 25ms", phases: [phase], ledger: nil).passed)
            let markdown = try String(contentsOfFile: "\(out)/\(file.replacingOccurrences(of: ".json", with: ".md"))", encoding: .utf8)
            #expect(markdown.contains("target CPU µs/req"), "the report's phase table has the column")
        }
    }
}
