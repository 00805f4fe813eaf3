import Foundation
import TestSupport
import Testing

/// A scenario's `faults:` against real services: a throw-away Redis is stopped and started under the browsing mix.
@Suite("Bench: faults inside scenarios", .serialized, .timeLimit(.minutes(10)))
struct FaultScenarioTests {
    @Test("Redis stopped and started during the browsing mix: no 5xx, the faults are in the report, the cache is used again")
    func cacheOutage() async throws {
        let port = TestPorts.next()  // a Redis of its own, stopped and started by the scenario
        let runDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-faults-\(TestEnvironment.uniqueSuffix())").path
        let services = ["REDIS_PORT": String(port), "HAPPENING_RUN_DIR": runDirectory, "SKIP_SCHEMA": "1"]
        #expect(try await TestEnvironment.shellOffPool("bash scripts/services.sh up redis", environment: services).status == 0)
        defer {
            _ = try? TestEnvironment.shell("bash scripts/services.sh down redis", environment: services)
            try? FileManager.default.removeItem(atPath: runDirectory)
        }
        let (server, serverPort) = try await ChildProcess.startServing("happening-server", path: "/api/health/live") { serverPort in
            [
                "DATABASE_URL": TestEnvironment.databaseURL, "REDIS_URL": "redis://127.0.0.1:\(port)", "AMQP_URL": TestEnvironment.amqpURL,
                "JWT_SECRET": TestEnvironment.value("JWT_SECRET"), "PORT": String(serverPort), "REDIS_TIMEOUT_MS": "200",
                "CACHE_PREFIX": "bench-faults-\(TestEnvironment.uniqueSuffix()):", "LOG_LEVEL": "error",
            ]
        }
        try await server.whileRunning {
            let out = runDirectory + "/reports"
            let run = try await bench(
                "run scenarios/homepage-cache-outage.yaml --target http://127.0.0.1:\(serverPort) --set seconds=8s --set down_at=2s --set up_at=5s --progress lines --out '\(out)'",
                environment: services.merging(["DATABASE_URL": TestEnvironment.databaseURL]) { $1 })
            #expect(run.status == 0, "\(run.output)")
            #expect(run.output.contains("fault: stop-cache") && run.output.contains("fault: start-cache"))

            let report = try #require(try FileManager.default.contentsOfDirectory(atPath: out).first { $0.hasSuffix(".json") })
            let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/" + report))) as? [String: Any])
            let first = try #require((json["runs"] as? [[String: Any]])?.first)
            let faults = try #require(first["faults"] as? [[String: Any]])
            #expect(faults.map { $0["action"] as? String } == ["stop-cache", "start-cache"])
            #expect(faults.allSatisfy { $0["ok"] as? Bool == true }, "\(faults)")
            let phase = try #require((first["phases"] as? [[String: Any]])?.first { $0["name"] as? String == "outage" })
            let statuses = try #require(phase["statuses"] as? [String: Any])
            #expect(Set(statuses.keys) == ["200"], "only 200s through the outage: \(statuses)")
            #expect((phase["cache_hits"] as? Int ?? 0) > 0, "the cache served before and after the outage")
            let markdown = try String(contentsOfFile: out + "/" + report.replacingOccurrences(of: ".json", with: ".md"), encoding: .utf8)
            #expect(markdown.contains("### Faults injected"))
        }
    }
}
