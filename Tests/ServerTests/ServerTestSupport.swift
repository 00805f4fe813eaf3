import Foundation
import HappeningConfig
import HappeningPostgres
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import TestSupport
import Testing

@testable import Server

/// The settings a test server runs with: the test database, the local Redis and RabbitMQ, a fixed secret.
func testSettings(_ overrides: [String: String] = [:]) -> Settings {
    var values = [
        "DATABASE_URL": TestEnvironment.databaseURL,
        "REDIS_URL": TestEnvironment.redisURL,
        "AMQP_URL": TestEnvironment.amqpURL,
        "JWT_SECRET": "test-secret-that-is-long-enough-for-hs256-0123456789",
        "BCRYPT_COST": "4",
        // A development stack: simulated payments (the offline gateway) and seeded dev accounts are allowed.
        "DEV_MODE": "1",
        "LOGIN_MAX_FAILURES_PER_IP": "1000000",
        "REGISTRATIONS_PER_IP_PER_HOUR": "1000000",
        "LOG_LEVEL": "critical",
        // The suite runs in parallel on 2 cores: do not mistake a busy machine for a Redis outage.
        "REDIS_TIMEOUT_MS": "3000",
        // Each test server has its own cache namespace, so other tests' writes do not bump its generation.
        "CACHE_PREFIX": "test-\(TestEnvironment.uniqueSuffix()):",
        // Hundreds of test servers: each opens connections as it needs them (PlumbingTests checks warming).
        "WARM_POOLS": "off",
    ]
    values.merge(overrides) { $1 }
    return Settings(values)
}

/// Runs `body` against an in-process server (router test framework: no socket, real services).
func withServer(_ overrides: [String: String] = [:], _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
    let configuration = try ServerConfiguration(testSettings(overrides))
    let app = try await buildApplication(configuration, metrics: PrometheusCollectorRegistry())
    try await app.test(.router, body)
}

/// Like ``withServer(_:_:)``, also handing the test the server's dependencies.
func withServerAndDependencies(_ overrides: [String: String] = [:], _ body: @Sendable (any TestClientProtocol, AppDependencies) async throws -> Void)
    async throws
{
    let configuration = try ServerConfiguration(testSettings(overrides))
    let logger = Logger(label: "test")
    let deps = try await AppDependencies(configuration, metrics: PrometheusCollectorRegistry(), logger: logger)
    try await buildApplication(configuration, deps: deps, logger: logger).test(.router) { client in try await body(client, deps) }
}

/// A unique email for one test.
func uniqueEmail(_ label: String = "user") -> String { "\(label)-\(TestEnvironment.uniqueSuffix())@Example.com" }

extension TestClientProtocol {
    /// Sends JSON (or raw text) and returns the response.
    @discardableResult
    func send(_ method: HTTPRequest.Method, _ uri: String, json: String? = nil, token: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if json != nil { headers[.contentType] = "application/json" }
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }

    /// Registers a user and returns its token.
    func register(email: String, password: String = "correct horse 1", name: String = "Test User") async throws -> String {
        let response = try await send(.post, "/api/auth/register", json: #"{"email":"\#(email)","password":"\#(password)","name":"\#(name)"}"#)
        #expect(response.status == .created)
        return try response.json()["token"] as? String ?? ""
    }
}

extension TestResponse {
    /// The body as a JSON object.
    func json() throws -> [String: Any] {
        (try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]) ?? [:]
    }

    /// The `code` of an error body.
    var errorCode: String? { (try? json())?["code"] as? String }
}

/// Helpers that set up users with roles directly in the test database.
enum Fixtures {
    /// Registers a user and makes it an approved host; returns its token.
    /// `postgres`: the server's database when it is not the shared test database (``withPaymentServer`` gives each test
    /// one of its own).
    static func approvedHost(_ client: some TestClientProtocol, postgres server: PostgresClient? = nil) async throws -> String {
        let email = uniqueEmail("host")
        let token = try await client.register(email: email)
        let approve = "UPDATE users SET is_host = true, host_status = 'approved' WHERE lower(email) = lower($1)"
        if let server {
            try await server.query(approve, [email])
        } else {
            let postgres = PostgresClient(configuration: .init(url: TestEnvironment.databaseURL, poolSize: 1))
            try await postgres.query(approve, [email])
            await postgres.shutdown()
        }
        return token
    }

    /// Logs in the admin a test server was configured with.
    static func adminToken(_ client: some TestClientProtocol, email: String) async throws -> String {
        let response = try await client.send(.post, "/api/auth/login", json: #"{"email":"\#(email)","password":"admin-pass-1"}"#)
        return try response.json()["token"] as? String ?? ""
    }

    /// Runs a statement on the test database.
    static func sql(_ statement: String, _ bindings: PostgresBindings = []) async throws {
        let postgres = PostgresClient(configuration: .init(url: TestEnvironment.databaseURL, poolSize: 1))
        try await postgres.query(statement, bindings)
        await postgres.shutdown()
    }
}

/// A JSON body for a new event in `city`, a few days ahead.
func eventJSON(
    title: String = "Gig \(TestEnvironment.uniqueSuffix())", city: String = "Bhopal", tickets: Int = 100, price: String = "499.50",
    category: String = "music", daysAhead: Int = 10
) -> String {
    let date = ISO8601DateFormatter().string(from: Date().addingTimeInterval(Double(daysAhead) * 86_400))
    return
        #"{"title":"\#(title)","date_time":"\#(date)","venue":"Main Hall, \#(city)","total_tickets":\#(tickets),"price":"\#(price)","category":"\#(category)"}"#
}
