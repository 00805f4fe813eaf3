import Foundation
import HappeningAMQP
import HappeningPostgres
import HappeningRedis
import Hummingbird
import Synchronization

/// `GET /api/health`: the server is alive, and which dependencies answer. `GET /api/health/live`: the process
/// answers HTTP at all (no dependency is asked; for liveness probes, and the cheapest route there is).
struct HealthController: Sendable {
    let postgres: PostgresClient
    let redis: RedisClient
    let bookingJobs: AMQPPublisher
    /// The last probes' answers, reused for a second: a flood of health checks costs the dependencies at most three
    /// round trips a second, however many callers ask.
    let probes = RecentProbes(maxAge: .seconds(1))

    /// Which dependencies answered.
    struct Probed: Sendable {
        var database: Bool
        var redis: Bool
        var queue: Bool
    }

    /// The newest probe results younger than `maxAge`, or one new probe shared by every caller that asks meanwhile.
    final class RecentProbes: Sendable {
        let maxAge: Duration
        private let last = Mutex<(at: ContinuousClock.Instant, result: Probed)?>(nil)
        private let flight = SingleFlight<Int, Probed>()

        init(maxAge: Duration) { self.maxAge = maxAge }

        func result(_ probe: @escaping @Sendable () async -> Probed) async -> Probed {
            if let recent = fresh() { return recent }
            let probed = try? await flight.value(for: 0) { [self] in
                // Checked again inside the flight: a caller that looked just before another flight finished finds its answer.
                if let recent = fresh() { return recent }
                let probed = await probe()
                last.withLock { $0 = (ContinuousClock.now, probed) }
                return probed
            }
            return probed ?? Probed(database: false, redis: false, queue: false)
        }

        private func fresh() -> Probed? {
            guard let recent = last.withLock({ $0 }), ContinuousClock.now - recent.at < maxAge else { return nil }
            return recent.result
        }
    }

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
            .get("live") { _, _ in Response(status: .ok, headers: [.contentType: Self.liveContentType], body: .init(byteBuffer: Self.liveBody)) }
    }

    /// The liveness answer (also given on the event loop by ``InlineRoutes``).
    static let liveBody = ByteBuffer(string: #"{"status":"ok"}"#)
    static let liveContentType = "application/json"

    /// 200 when PostgreSQL, Redis and RabbitMQ all answered within a second (probed at most once a second); 503 (with
    /// `Retry-After`) otherwise.
    @Sendable func check(request: Request, context: AppRequestContext) async throws -> Response {
        let (postgres, redis, bookingJobs) = (postgres, redis, bookingJobs)
        let probed = await probes.result {
            async let database = Self.probe { try await postgres.ping() }
            async let cache = Self.probe { try await redis.ping() }
            async let queue = Self.probe {
                try await bookingJobs.declareTopology()
                return true
            }
            return await Probed(database: database, redis: cache, queue: queue)
        }
        let (databaseUp, redisUp, queueUp) = (probed.database, probed.redis, probed.queue)
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
    private static func probe(_ check: @escaping @Sendable () async throws -> Bool) async -> Bool {
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
