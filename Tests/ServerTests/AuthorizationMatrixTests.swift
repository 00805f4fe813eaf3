import Foundation
import HappeningAMQP
import HappeningModel
import HappeningPostgres
import HappeningRedis
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import TestSupport
import Testing

@testable import Server

/// The authorisation matrix across every route the router has: what anonymous callers, plain users and
/// approved hosts get on routes that need more.
@Suite("Authorisation matrix", .timeLimit(.minutes(10)))
struct AuthorizationMatrixTests {
    /// Routes anyone may call.
    static let publicRoutes: Set<String> = [
        "GET /api/health", "GET /api/health/live", "POST /api/payments/webhook", "POST /api/auth/register", "POST /api/auth/login", "GET /metrics",
        "GET /openapi.yaml",
        "GET /api/events/public/upcoming", "GET /api/events/public/search", "GET /api/events/public/categories",
        "GET /api/events/public/category/{category}", "GET /api/events/{id}",
    ]

    /// Routes only admins may call.
    static let adminRoutes: Set<String> = [
        "GET /api/events/admin/pending", "GET /api/events/admin/approved", "GET /api/events/admin/rejected",
        "POST /api/events/admin/{id}/review", "GET /api/hosts/applications/pending", "GET /api/hosts/admin/approved",
        "GET /api/hosts/admin/rejected", "POST /api/hosts/applications/{userId}/review",
        "GET /api/hosts/admin/payable-events", "POST /api/hosts/payouts/create", "GET /api/hosts/admin/payouts", "GET /api/analytics/dashboard",
    ]

    private func allRoutes() async throws -> [(method: HTTPRequest.Method, path: String, key: String)] {
        let configuration = try ServerConfiguration(testSettings())
        let deps = try await AppDependencies(configuration, metrics: PrometheusCollectorRegistry(), logger: .init(label: "test"))
        let routes: [(method: HTTPRequest.Method, path: String, key: String)] = buildRouter(deps).routes.map { route in
            let parts = route.path.description.split(separator: "/")
            let template = "/" + parts.map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
            let concrete = "/" + parts.map { $0.hasPrefix(":") ? ($0 == ":category" ? "music" : UUID().lowercasedText) : String($0) }.joined(separator: "/")
            return (route.method, concrete, "\(route.method.rawValue) \(template)")
        }
        await deps.postgres.shutdown()
        await deps.redis.shutdown()
        await deps.bookingJobs.shutdown()
        await deps.hasher.shutdown()
        return routes
    }

    @Test("every route that is not public answers 401 to an anonymous caller and to a forged token")
    func anonymous() async throws {
        let routes = try await allRoutes()
        #expect(routes.count >= 30)
        try await withServer { client in
            for route in routes where !Self.publicRoutes.contains(route.key) {
                let body = route.method == .get ? nil : "{}"
                let anonymous = try await client.send(route.method, route.path, json: body)
                #expect(anonymous.status == .unauthorized, "\(route.key) gave \(anonymous.status) without a token")
                let forged = try await client.send(route.method, route.path, json: body, token: "eyJhbGciOiJIUzI1NiJ9.e30.forged")
                #expect(forged.status == .unauthorized, "\(route.key) gave \(forged.status) with a forged token")
            }
        }
    }

    @Test("admin routes answer 403 to a plain user and to an approved host")
    func adminOnly() async throws {
        let routes = try await allRoutes().filter { Self.adminRoutes.contains($0.key) }
        #expect(routes.count == Self.adminRoutes.count)
        try await withServer { client in
            let user = try await client.register(email: uniqueEmail())
            let host = try await Fixtures.approvedHost(client)
            for route in routes {
                let body = route.method == .get ? nil : #"{"action":"approve"}"#
                for (who, token) in [("user", user), ("host", host)] {
                    let response = try await client.send(route.method, route.path, json: body, token: token)
                    #expect(response.status == .forbidden, "\(route.key) gave \(response.status) to a \(who)")
                }
            }
        }
    }

    @Test("public routes answer anonymous callers without 401 or 5xx")
    func publicRoutesOpen() async throws {
        let routes = try await allRoutes().filter { Self.publicRoutes.contains($0.key) }
        try await withServer { client in
            for route in routes {
                let response = try await client.send(route.method, route.path, json: route.method == .get ? nil : "{}")
                // /api/health may say 503 when a dependency is slow under the parallel test load: that is its job.
                let acceptable = response.status.code < 500 || (route.key == "GET /api/health" && response.status == .serviceUnavailable)
                #expect(response.status != .unauthorized && acceptable, "\(route.key) gave \(response.status)")
            }
        }
    }
}
