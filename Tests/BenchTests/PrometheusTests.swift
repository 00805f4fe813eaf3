import Foundation
import TestSupport
import Testing

@testable import HappeningBench

/// A real Prometheus (Debian's, started by `scripts/prometheus.sh` with the shipped `deploy/prometheus/prometheus.yml`)
/// beside a run: the Bench's remote-written series hold the values its report shows, and the server's and a worker's
/// `/metrics` are scraped through the config's file_sd job.
@Suite("Bench: Prometheus remote write and scraping", .serialized, .timeLimit(.minutes(10)))
struct PrometheusTests {
    /// A Prometheus on a fresh port, data in `directory`, the shipped config with its file_sd path moved into
    /// `directory/targets`; stopped afterwards, also when `body` throws.
    private func withPrometheus(_ directory: String, _ body: (_ port: Int) async throws -> Void) async throws {
        let shipped = try String(contentsOf: TestEnvironment.repositoryRoot.appendingPathComponent("deploy/prometheus/prometheus.yml"), encoding: .utf8)
        let moved = shipped.replacingOccurrences(of: "../../.run/prometheus/targets/*.json", with: "\(directory)/targets/*.json")
        try #require(moved != shipped, "the shipped prometheus.yml no longer reads .run/prometheus/targets/*.json")
        try moved.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        let port = TestPorts.next()
        let environment = ["PROMETHEUS_PORT": "\(port)", "PROMETHEUS_DIR": directory + "/prometheus", "PROMETHEUS_CONFIG": directory + "/prometheus.yml"]
        let started = try await TestEnvironment.shellOffPool("bash scripts/prometheus.sh up 2>&1", environment: environment)
        try #require(started.status == 0, "\(started.output)")
        do {
            try await body(port)
        } catch {
            _ = try? await TestEnvironment.shellOffPool("bash scripts/prometheus.sh down 2>&1", environment: environment)
            throw error
        }
        _ = try await TestEnvironment.shellOffPool("bash scripts/prometheus.sh down 2>&1", environment: environment)
    }

    /// An instant query's series: labels and value.
    private func query(_ port: Int, _ expression: String, at time: Double) async throws -> [(labels: [String: String], value: Double)] {
        let answer = try await TestEnvironment.shellOffPool(
            "curl -sS --max-time 10 -G 'http://127.0.0.1:\(port)/api/v1/query' --data-urlencode 'query=\(expression)' "
                + "--data-urlencode 'time=\(String(format: "%.3f", time))'")
        guard answer.status == 0, let json = try JSONSerialization.jsonObject(with: Data(answer.output.utf8)) as? [String: Any],
            json["status"] as? String == "success", let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]]
        else { throw QueryFailed(answer: answer.output) }
        return result.compactMap { series in
            guard let labels = series["metric"] as? [String: String], let pair = series["value"] as? [Any], pair.count == 2,
                let text = pair[1] as? String, let value = Double(text)
            else { return nil }
            return (labels, value)
        }
    }

    private struct QueryFailed: Error { var answer: String }

    @Test("the run's series answer with the report's figures (per route, per second, CPU); the server and worker are scraped")
    func remoteWriteMatchesReport() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-prometheus-\(TestEnvironment.uniqueSuffix())").path
        try FileManager.default.createDirectory(atPath: directory + "/targets", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let queue = "bench-prometheus-\(TestEnvironment.uniqueSuffix())"
        let services = [
            "DATABASE_URL": TestEnvironment.databaseURL, "REDIS_URL": TestEnvironment.redisURL, "AMQP_URL": TestEnvironment.amqpURL,
            "BOOKING_QUEUE": queue, "CACHE_PREFIX": queue + ":", "LOG_LEVEL": "error",
        ]
        let (server, serverPort) = try await ChildProcess.startServing("happening-server", path: "/api/health") { port in
            services.merging(["JWT_SECRET": TestEnvironment.value("JWT_SECRET"), "PORT": "\(port)"]) { $1 }
        }
        try await server.whileRunning {
            let (worker, metricsPort) = try await ChildProcess.retryingTakenPorts {
                let port = TestPorts.next()
                return (
                    try await ChildProcess.serve(
                        "happening-worker", arguments: "run --metrics-port \(port)", port: port, path: "/metrics", environment: services), port
                )
            }
            try await worker.whileRunning {
                try await withPrometheus(directory) { prometheus in
                    let gate = "test-\(TestEnvironment.uniqueSuffix())"
                    try ScrapeTargets.write(
                        to: directory + "/targets/tier.json", server: "127.0.0.1:\(serverPort)", workers: ["127.0.0.1:\(metricsPort)"], labels: ["gate": gate])
                    try await checkRun(prometheus: prometheus, serverPort: serverPort, directory: directory)
                    // Both processes scraped through the shipped file_sd job, their job labels from the targets file.
                    let now = Date().timeIntervalSince1970
                    let up = try await eventually("Prometheus to scrape the server and the worker", within: Patience.startup, every: .milliseconds(500)) {
                        try await query(prometheus, "up{gate=\"\(gate)\"}", at: Date().timeIntervalSince1970)
                    } until: { series in
                        series.count == 2 && series.allSatisfy { $0.value == 1 }
                    }
                    #expect(Set(up.map { $0.labels["job"] ?? "" }) == ["happening-server", "happening-worker"])
                    let served = try await eventually("the server's request counter in Prometheus", within: Patience.startup, every: .milliseconds(500)) {
                        try await query(prometheus, "http_server_requests_total{gate=\"\(gate)\"}", at: max(now, Date().timeIntervalSince1970))
                    } until: {
                        !$0.isEmpty
                    }
                    #expect(served.allSatisfy { $0.labels["job"] == "happening-server" })
                }
            }
        }
    }

    /// A 3-second run with two routes (one answering 404, counted as errors) streamed to Prometheus; every figure the
    /// queries return is the report's.
    private func checkRun(prometheus: Int, serverPort: Int, directory: String) async throws {
        let scenario = directory + "/two-routes.yaml"
        try """
        name: prometheus-two-routes
        requests:
          - { name: live, path: /api/health/live, expect: [200], weight: 3 }
          - { name: missing, path: /api/no-such-route, expect: [200], weight: 1 }
        phases:
          - { name: steady, model: closed, connections: 4, duration: 3s }
        """.write(toFile: scenario, atomically: true, encoding: .utf8)
        let runID = "prometheus-test-\(TestEnvironment.uniqueSuffix())"
        let out = directory + "/out"
        let result = try await bench(
            "run '\(scenario)' --target http://127.0.0.1:\(serverPort) --progress none --out '\(out)' --run-id \(runID) "
                + "--prometheus-remote-write http://127.0.0.1:\(prometheus)/api/v1/write")
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("Prometheus remote write:"), "\(result.output)")
        let json = try #require((try FileManager.default.contentsOfDirectory(atPath: out)).first { $0.hasSuffix(".json") })
        let report = try BenchResult.load("\(out)/\(json)")
        #expect(report.run_id == runID)
        let run = report.runs[0]
        let written = try #require(run.remote_write)
        #expect(written.failed_writes == 0 && written.samples > 0, "\(written)")
        #expect(written.labels?["run_id"] == runID && written.labels?["scenario"] == "prometheus-two-routes")
        let phase = run.phases[0]
        let timeline = phase.timeline
        try #require(phase.requests > 0 && timeline.count >= 2, "\(phase.requests) requests in \(timeline.count) seconds")
        let start = Double(phase.started_at_micros) / 1e6
        let end = start + Double((timeline.map(\.second).max() ?? 0) + 1)
        let selector = "run_id=\"\(runID)\",phase=\"steady\""

        // Per route, the counters at the end are the report's totals.
        let requests = try await eventually("the run's request counters in Prometheus", every: .milliseconds(200)) {
            try await query(prometheus, "happening_bench_requests_total{\(selector)}", at: end)
        } until: {
            $0.count == 2
        }
        let errors = try await query(prometheus, "happening_bench_errors_total{\(selector)}", at: end)
        for template in phase.templates {
            #expect(requests.first { $0.labels["route"] == template.name }?.value == Double(template.requests), "\(template.name) requests")
            #expect(errors.first { $0.labels["route"] == template.name }?.value == Double(template.errors), "\(template.name) errors")
        }
        #expect(phase.templates.first { $0.name == "missing" }.map { $0.errors == $0.requests && $0.requests > 0 } == true)
        #expect(requests.allSatisfy { $0.labels["target"] == "http://127.0.0.1:\(serverPort)" && $0.labels["run"] == "run" })

        // Second by second: requests, p50 and p99 as the report's timeline has them (µs there, seconds here).
        for point in timeline {
            let at = start + Double(point.second + 1)
            let count = try await query(prometheus, "happening_bench_second_requests{\(selector)}", at: at)
            let p50 = try await query(prometheus, "happening_bench_latency_seconds{\(selector),quantile=\"0.5\"}", at: at)
            let p99 = try await query(prometheus, "happening_bench_latency_seconds{\(selector),quantile=\"0.99\"}", at: at)
            #expect(count.first?.value == Double(point.requests), "second \(point.second) requests")
            #expect(abs((p50.first?.value ?? -1) - Double(point.p50_us) / 1e6) < 1e-9, "second \(point.second) p50")
            #expect(abs((p99.first?.value ?? -1) - Double(point.p99_us) / 1e6) < 1e-9, "second \(point.second) p99")
        }
        let cpu = try await query(prometheus, "happening_bench_cpu_seconds_total{run_id=\"\(runID)\"}", at: end + 2)
        #expect((cpu.first?.value ?? 0) > 0)
    }
}
