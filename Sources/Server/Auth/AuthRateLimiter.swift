import HappeningRedis
import Logging

/// Limits on the routes that cost a bcrypt hash, counted in Redis so every server instance shares them:
/// - login attempts per account (whatever the address) and per client address over a window;
/// - registrations per client address per hour.
///
/// Each attempt is counted *before* its password is checked or hashed, in one script: of N parallel guesses at one
/// account, at most `perAccount` are ever checked. A successful login clears the account's count and gives its
/// address its attempt back, so only failures stay counted. If Redis does not answer, requests are allowed (and
/// logged): an outage of the cache must not lock everyone out. Keys live under the cache prefix: instances of one
/// deployment share them, other deployments on the same Redis do not.
struct AuthRateLimiter: Sendable {
    let redis: RedisClient
    /// The deployment's key prefix (`CACHE_PREFIX`).
    var prefix = ""
    /// Login attempts checked per account in a window (`LOGIN_MAX_FAILURES`).
    var perAccount = 5
    /// Login attempts checked per client address in a window (`LOGIN_MAX_FAILURES_PER_IP`).
    var perIP = 30
    /// The login window, in seconds.
    var window = 900
    /// Registrations per client address per hour (`REGISTRATIONS_PER_IP_PER_HOUR`).
    var registrationsPerHour = 20

    private func loginKeys(ip: String, email: String) -> (account: String, ip: String) {
        ("\(prefix)ratelimit:login:acct:\(email.lowercased())", "\(prefix)ratelimit:login:ip:\(ip)")
    }

    /// Counts one attempt on each key (`ARGV[1]` the window; `ARGV[1 + i]` the limit of `KEYS[i]`); each window starts
    /// at its key's first attempt (the TTL is set when missing, so any Redis version works, not only ones with
    /// `EXPIRE … NX`). Answers `{1}`, or `{0, seconds to wait}` at the first key over its limit.
    private static let countScript = """
        local window = tonumber(ARGV[1])
        for i = 1, #KEYS do
            local count = redis.call('INCR', KEYS[i])
            if redis.call('TTL', KEYS[i]) < 0 then redis.call('EXPIRE', KEYS[i], window) end
            if count > tonumber(ARGV[i + 1]) then return {0, redis.call('TTL', KEYS[i])} end
        end
        return {1}
        """

    /// Counts a login attempt; throws 429 (with `Retry-After`) when the account or the address has used its attempts.
    func countLogin(ip: String, email: String, logger: Logger) async throws {
        let keys = loginKeys(ip: ip, email: email)
        try await count([(keys.account, perAccount), (keys.ip, perIP)], window: window, logger: logger)
    }

    /// Counts a registration; throws 429 when the address has registered its share this hour.
    func countRegistration(ip: String, logger: Logger) async throws {
        try await count([("\(prefix)ratelimit:register:ip:\(ip)", registrationsPerHour)], window: 3_600, logger: logger)
    }

    private func count(_ limits: [(key: String, limit: Int)], window: Int, logger: Logger) async throws {
        let reply: RedisValue
        do {
            reply = try await redis.evalScript(
                Self.countScript, keys: limits.map(\.key), arguments: [RedisArgument(window)] + limits.map { RedisArgument($0.limit) })
        } catch let error as RedisError {
            logger.warning("rate limit unavailable", metadata: ["error": "\(error)"])
            return
        }
        guard case .array(let parts) = reply, parts.first?.integer == 0 else { return }
        throw AppError.tooManyRequests(retryAfter: max(1, Int(parts.dropFirst().first?.integer ?? Int64(window))))
    }

    /// Forgets the account's attempts; gives the address one back while its window lasts (never below zero).
    private static let successScript = """
        redis.call('DEL', KEYS[1])
        if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
        return 1
        """

    /// After a successful login: forgets the account's attempts and gives the address this attempt back.
    func loginSucceeded(ip: String, email: String) async {
        let keys = loginKeys(ip: ip, email: email)
        _ = try? await redis.evalScript(Self.successScript, keys: [keys.account, keys.ip])
    }
}
