import Foundation
import HappeningAMQP
import HappeningConfig
import HappeningPool
import HappeningPostgres
import HappeningRedis
import HappeningSystem
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import TestSupport
import Testing

@testable import Server

@Suite("Server plumbing", .timeLimit(.minutes(10)))
struct PlumbingTests {
    @Test("health reports every dependency")
    func health() async throws {
        try await withServer { client in
            // Each probe has one second; on a machine busy with the parallel suite, ask until every probe made it.
            let response = try await eventually("/api/health to report every dependency up", every: .milliseconds(200)) {
                try await client.send(.get, "/api/health")
            } until: {
                $0.status == .ok
            }
            let body = try response.json()
            #expect(body["status"] as? String == "ok")
            #expect(body["database"] as? String == "up" && body["redis"] as? String == "up" && body["queue"] as? String == "up")
            #expect(response.headers[.init("X-Request-Id")!] != nil)
        }
    }

    @Test("WARM_POOLS opens the database's and Redis's connections before the first request; off, none")
    func warmPools() async throws {
        try await withServerAndDependencies(["WARM_POOLS": "on", "DB_POOL_SIZE": "3"]) { _, deps in
            #expect(deps.postgres.statistics.open == 3 && deps.postgres.statistics.idle == 3)
            #expect(deps.redis.statistics.open == deps.redis.configuration.poolSize)
            #expect(deps.admissionRedis.statistics.open == deps.admissionRedis.configuration.poolSize)
        }
        try await withServerAndDependencies(["WARM_POOLS": "off"]) { _, deps in
            #expect(deps.admissionRedis.statistics.open == 0)
        }
    }

    @Test("liveness answers without asking any dependency")
    func liveness() async throws {
        try await withServer(["DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"]) { client in
            let response = try await client.send(.get, "/api/health/live")
            #expect(response.status == .ok)
            #expect(try response.json()["status"] as? String == "ok")
        }
    }

    @Test("MUTATION: off unless named; names parse (with blanks); an unknown one is refused")
    func mutations() throws {
        #expect(try ServerConfiguration(testSettings()).mutations.isEmpty)
        #expect(
            try ServerConfiguration(testSettings(["MUTATION": "frozen-tickets-left, confirm-then-roll-back"])).mutations == [
                .frozenTicketsLeft, .confirmThenRollBack,
            ])
        #expect(throws: Settings.Invalid.self) { try ServerConfiguration(testSettings(["MUTATION": "frozen"])) }
    }

    @Test("CPU lists from /proc are counted; EVENT_LOOPS defaults to them and is validated")
    func cpuAffinity() throws {
        #expect(CPUAffinity.count(list: "0-3,8,10-11") == 7)
        #expect(CPUAffinity.count(list: "1") == 1)
        #expect(CPUAffinity.count(list: "") == nil && CPUAffinity.count(list: "3-1") == nil && CPUAffinity.count(list: "a") == nil)
        #expect(CPUAffinity.allowedCount().map { $0 >= 1 } ?? true)
        #expect(try ServerConfiguration(testSettings()).eventLoops == (CPUAffinity.allowedCount() ?? ProcessInfo.processInfo.activeProcessorCount))
        #expect(try ServerConfiguration(testSettings(["EVENT_LOOPS": "3"])).eventLoops == 3)
        #expect(throws: (any Error).self) { try ServerConfiguration(testSettings(["EVENT_LOOPS": "0"])) }
    }

    @Test("unknown routes are a JSON 404; /metrics and /openapi.yaml are served")
    func misc() async throws {
        try await withServer { client in
            let missing = try await client.send(.get, "/api/nope")
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "route_not_found")
            // A refused request is counted with the status the client got, not as a 500.
            #expect(try await client.send(.get, "/api/events/\(UUID())").status == .notFound)
            let metrics = String(buffer: try await client.send(.get, "/metrics").body)
            #expect(metrics.contains(#"http_server_requests_total{route="/api/events/{id}",method="GET",status="404"}"#), "\(metrics.prefix(2000))")
            #expect(!metrics.contains(#"route="/api/events/{id}",method="GET",status="500""#))
            let spec = try await client.send(.get, "/openapi.yaml")
            #expect(spec.status == .ok)
            #expect(String(buffer: spec.body).hasPrefix("openapi: 3"))
        }
    }

    @Test("missing or malformed configuration fails with one clear line")
    func configuration() throws {
        #expect(throws: Settings.Invalid(name: "JWT_SECRET", problem: "is required (or set DEV_MODE=1 to generate a throw-away one)")) {
            try ServerConfiguration(Settings(["DATABASE_URL": "x", "REDIS_URL": "x", "AMQP_URL": "x"]))
        }
        #expect(throws: Settings.Invalid.self) { try ServerConfiguration(testSettings(["PORT": "70000"])) }
        #expect(throws: Settings.Invalid.self) { try ServerConfiguration(testSettings(["CACHE": "maybe"])) }
        #expect(throws: Settings.Invalid.self) { try ServerConfiguration(testSettings(["JWT_SECRET": "short"])) }
        #expect(throws: Settings.Invalid.self) { try ServerConfiguration(testSettings(["ADMIN_EMAIL": "a@b.co"])) }
        let dev = try ServerConfiguration(Settings(["DATABASE_URL": "x", "REDIS_URL": "x", "AMQP_URL": "x", "DEV_MODE": "1"]))
        #expect(dev.jwtSecretGenerated && dev.jwtSecret.count >= 32)
        let defaults = try ServerConfiguration(testSettings())
        #expect(defaults.host == "127.0.0.1" && defaults.port == 5000 && defaults.cacheTTL == 300 && defaults.cacheEnabled)
    }

    @Test("openapi.yaml is a valid OpenAPI document and lists exactly the routes the router has")
    func openAPIMatchesRouter() async throws {
        let check = try await TestEnvironment.shellOffPool("python3 scripts/openapi_check.py openapi.yaml")
        #expect(check.status == 0, "openapi-spec-validator: \(check.output)")
        let documented = Set(check.output.split(separator: "\n").map(String.init))

        let configuration = try ServerConfiguration(testSettings())
        let deps = try await AppDependencies(configuration, metrics: PrometheusCollectorRegistry(), logger: .init(label: "test"))
        let routes = Set(
            buildRouter(deps).routes.map { route -> String in
                let path = route.path.description.split(separator: "/").map { part in
                    part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
                }.joined(separator: "/")
                return "\(route.method.rawValue) /\(path)"
            })
        #expect(routes == documented, "router only: \(routes.subtracting(documented)); spec only: \(documented.subtracting(routes))")
        await deps.postgres.shutdown()
        await deps.redis.shutdown()
        await deps.bookingJobs.shutdown()
        await deps.hasher.shutdown()
    }
}
