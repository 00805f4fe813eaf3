import Foundation
import HappeningCore
import Hummingbird
import HummingbirdTesting
import Prometheus
import Testing
import TestSupport

@testable import Server

/// The settings a test server runs with: the test database, the local Redis and RabbitMQ, a fixed secret.
func testSettings(_ overrides: [String: String] = [:]) -> Settings {
    var values = [
        "DATABASE_URL": TestEnvironment.databaseURL,
        "REDIS_URL": TestEnvironment.redisURL,
        "AMQP_URL": TestEnvironment.amqpURL,
        "JWT_SECRET": "test-secret-that-is-long-enough-for-hs256-0123456789",
        "BCRYPT_COST": "4",
        "LOGIN_MAX_FAILURES_PER_IP": "1000000",
        "LOG_LEVEL": "critical",
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
