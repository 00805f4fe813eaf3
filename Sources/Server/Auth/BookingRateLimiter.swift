import Foundation
import HappeningRedis
import Logging

/// Caps how many booking requests one user may send per minute (`BOOKING_RATE_LIMIT_PER_MINUTE`, default 30;
/// 0 turns it off): a fixed one-minute window counted in Redis, so every server instance shares it. Over the
/// cap the answer is 429 with `Retry-After` (the seconds left in the window). If Redis does not answer, the
/// request is allowed and the outage logged: a cache outage must not stop sales.
struct BookingRateLimiter: Sendable {
    let redis: RedisClient
    let prefix: String
    let perMinute: Int

    func check(user: UUID, logger: Logger) async throws {
        guard perMinute > 0 else { return }
        let key = RedisArgument("\(prefix)ratelimit:booking:\(user.uuidString.lowercased())")
        let replies: [RedisValue]
        do {
            replies = try await redis.pipeline([["INCR", key], ["EXPIRE", key, "60", "NX"], ["TTL", key]])
        } catch {
            logger.warning("booking rate limit unavailable", metadata: ["error": "\(error)"])
            return
        }
        if let count = replies[0].integer, count > perMinute {
            throw AppError.tooManyRequests(retryAfter: max(1, Int(replies[2].integer ?? 60)))
        }
    }
}
