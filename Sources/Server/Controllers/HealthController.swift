import Foundation
import HappeningAMQP
import HappeningPostgres
import HappeningRedis
import Hummingbird

/// `GET /api/health`: the server is alive, and which dependencies answer. `GET /api/health/live`: the process
/// answers HTTP at all (no dependency is asked; for liveness probes, and the cheapest route there is).
struct HealthController: Sendable {
    let postgres: PostgresClient
    let redis: RedisClient
    let bookingJobs: AMQPPublisher

    /// What each dependency said.
    struct Health: ResponseEncodable {
        var status: String
        var message: String
        var database: String
        var redis: String
        var queue: String
        var timestamp: String
    }

    var endpoints: RouteCollection<AppRequestContext> {
        RouteCollection(context: AppRequestContext.self)
            .get(use: check)
            .get("live") { _, _ in Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: Self.liveBody)) }
    }

    private static let liveBody = ByteBuffer(string: #"{"status":"ok"}"#)

    /// 200 when PostgreSQL, Redis and RabbitMQ all answer within a second; 503 (with `Retry-After`) otherwise.
    @Sendable func check(request: Request, context: AppRequestContext) async throws -> Response {
        async let database = probe { try await postgres.ping() }
        async let cache = probe { try await redis.ping() }
        async let queue = probe {
            try await bookingJobs.declareTopology()
            return true
        }
        let (databaseUp, redisUp, queueUp) = await (database, cache, queue)
        let healthy = databaseUp && redisUp && queueUp
        let body = Health(
            status: healthy ? "ok" : "degraded",
            message: healthy ? "Happening API is running" : "a dependency is not answering",
            database: databaseUp ? "up" : "down",
            redis: redisUp ? "up" : "down",
            queue: queueUp ? "up" : "down",
            timestamp: Date().formatted(.iso8601))
        var response = try body.response(from: request, context: context)
        response.status = healthy ? .ok : .serviceUnavailable
        if !healthy { response.headers[.retryAfter] = "5" }
        return response
    }

    /// Runs a check with a one-second limit; any error or timeout counts as down.
    private func probe(_ check: @escaping @Sendable () async throws -> Bool) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await check()) ?? false }
            group.addTask {
                try? await Task.sleep(for: .seconds(1))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
