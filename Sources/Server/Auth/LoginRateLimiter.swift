import HappeningRedis
import Logging

/// Limits failed logins per client IP and per (IP, email) over a window, counted in Redis so every
/// server instance shares the count. If Redis does not answer, logins are allowed (and logged): an
/// outage of the cache must not lock everyone out. Keys live under the cache prefix: instances of one
/// deployment share them, other deployments on the same Redis do not.
struct LoginRateLimiter: Sendable {
    let redis: RedisClient
    /// The deployment's key prefix (`CACHE_PREFIX`).
    var prefix = ""
    /// Failed attempts allowed per (IP, email) in a window.
    var perAccount = 5
    /// Failed attempts allowed per IP in a window.
    var perIP = 30
    /// The window, in seconds.
    var window = 900

    private func keys(ip: String, email: String) -> (ip: String, account: String) {
        ("\(prefix)ratelimit:login:ip:\(ip)", "\(prefix)ratelimit:login:acct:\(ip):\(email.lowercased())")
    }

    /// Throws 429 (with `Retry-After`) when this IP or account has failed too often.
    func check(ip: String, email: String, logger: Logger) async throws {
        let keys = keys(ip: ip, email: email)
        do {
            let replies = try await redis.pipeline([
                ["GET", RedisArgument(keys.ip)], ["GET", RedisArgument(keys.account)], ["TTL", RedisArgument(keys.account)], ["TTL", RedisArgument(keys.ip)],
            ])
            let ipFailures = replies[0].integer ?? 0
            let accountFailures = replies[1].integer ?? 0
            if accountFailures >= perAccount { throw AppError.tooManyRequests(retryAfter: max(1, Int(replies[2].integer ?? Int64(window)))) }
            if ipFailures >= perIP { throw AppError.tooManyRequests(retryAfter: max(1, Int(replies[3].integer ?? Int64(window)))) }
        } catch let error as RedisError {
            logger.warning("login rate limit unavailable", metadata: ["error": "\(error)"])
        }
    }

    /// Counts a failed attempt (the window starts at the first failure).
    func recordFailure(ip: String, email: String, logger: Logger) async {
        let keys = keys(ip: ip, email: email)
        do {
            _ = try await redis.pipeline([
                ["INCR", RedisArgument(keys.ip)], ["EXPIRE", RedisArgument(keys.ip), RedisArgument(window), "NX"],
                ["INCR", RedisArgument(keys.account)], ["EXPIRE", RedisArgument(keys.account), RedisArgument(window), "NX"],
            ])
        } catch {
            logger.warning("login rate limit unavailable", metadata: ["error": "\(error)"])
        }
    }

    /// Forgets an account's failures after a successful login.
    func reset(ip: String, email: String) async {
        _ = try? await redis.delete([keys(ip: ip, email: email).account])
    }
}
