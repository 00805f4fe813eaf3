import Foundation
import HappeningModel
import HappeningRedis

/// Where a server remembers, for a moment, that an event's gate answered sold out and how many tickets were still
/// unclaimed, so requests that cannot fit are refused in process (the server's near cache, which forgets an event as
/// soon as its ``TicketsLeftKeys/gateReopened(_:)`` key moves).
public protocol SoldOutMemory: Sendable {
    /// The unclaimed tickets remembered for the event; nil when nothing is remembered.
    func get(_ event: UUID) -> Int?
    /// Remembers a sold-out answer.
    func put(_ event: UUID, _ left: Int)
}

/// The booking intake's one Redis round trip: the per-user rate limit, the idempotency claim, the event's
/// admission gate and the "queued" marker, in one atomic script.
///
/// The gate admits a booking while the event's tickets left (`event:<id>:available`, published from PostgreSQL
/// after every commit that changes them) minus the tickets claimed by admitted, undecided bookings
/// (`admission:<id>:claims`) cover it; otherwise the answer is 422 sold out, at about the cost of a cached read.
/// The worker releases a claim when it decides the booking (``AdmissionClaim``), in the script that publishes
/// the new tickets left, so a refused booking, an expired hold, a cancellation or a failed payment give their
/// tickets back to the gate as soon as they are published: well under a second. A claim nobody releases (its
/// worker died between commit and release) lapses after ``leaseDuration``, the bound on how long the gate
/// can stay shut on tickets that are free. PostgreSQL stays the only authority on what is sold: the gate
/// only decides what is worth queueing, and the worker decides the booking.
///
/// A single Redis (not Cluster): the script touches keys of the user and of the event.
public struct AdmissionGate: Sendable {
    let redis: RedisClient
    /// Concurrent admissions share pipelines (a sale's burst would otherwise queue for the pool's connections).
    private let admissions: RedisScriptBatcher
    public let keys: TicketsLeftKeys
    /// Booking requests one user may make per minute (0: no limit).
    let perMinute: Int
    /// Tickets of one event one user's undecided requests may claim (`MAX_TICKETS_PER_USER_PER_EVENT`; 0: no cap). The
    /// worker enforces the cap on what the user holds; this keeps one account from filling the sale's queue.
    public let perUserLimit: Int
    /// False (`ADMISSION_GATE=off`): no gate, every valid request is queued and the worker alone decides (the rate
    /// limit and idempotency keys still apply). For measuring a worker strategy's own race, e.g. CI's unsafe-worker gate.
    public let enabled: Bool
    /// How long an admitted booking's claim holds its tickets unless released (`ADMISSION_LEASE_SECONDS`, 15 s).
    let leaseDuration: Duration
    /// Events the gate just found sold out, with the tickets still unclaimed (the server's near cache; nil when the
    /// near caches are off). A request without an Idempotency-Key that cannot fit is refused from it in process —
    /// when it arrives, or when its pipeline leaves — without the round trip and without counting against the rate
    /// limit. With a key it always asks: its booking may be the one already queued.
    let soldOut: (any SoldOutMemory)?
    /// Called when a sold-out reply arrives, once it is in ``soldOut`` (the server looks again at bookings waiting
    /// their turn on its event loops).
    private let heardSoldOut: (@Sendable () -> Void)?

    public init(
        redis: RedisClient, keys: TicketsLeftKeys, perMinute: Int, perUserLimit: Int, enabled: Bool, leaseDuration: Duration,
        soldOut: (any SoldOutMemory)?,
        heardSoldOut: (@Sendable () -> Void)? = nil, executor: (any TaskExecutor)? = nil
    ) {
        self.heardSoldOut = heardSoldOut
        self.perUserLimit = perUserLimit
        self.redis = redis
        self.soldOut = enabled ? soldOut : nil
        self.admissions = RedisScriptBatcher(redis: redis, script: Self.admitScript, executor: executor)
        self.keys = keys
        self.perMinute = perMinute
        self.enabled = enabled
        self.leaseDuration = leaseDuration
    }

    /// How long the queued marker (for the status route) and a finished idempotency key are remembered (24 h).
    public static let memory = 86_400

    /// What the script decided.
    public enum Verdict: Equatable, Sendable {
        /// Claimed: publish the job.
        case admitted
        /// The same (user, Idempotency-Key) was published before: answer with its booking id.
        case alreadyQueued
        /// The same (user, Idempotency-Key) is being published by another request right now.
        case inProgress
        /// Admitted demand covers the tickets left; `left` is what is still unclaimed.
        case soldOut(left: Int)
        /// Over the per-user rate limit; retry after this many seconds.
        case rateLimited(retryAfter: Int)
        /// The user's undecided requests for this event already claim the per-user cap; `left` more would fit.
        case userLimit(left: Int)
        /// Redis holds no tickets left for the event: load them from PostgreSQL and ask again with them.
        case availabilityUnknown
    }

    /// One booking request as the gate sees it.
    public struct Admission: Sendable {
        public var event: UUID
        public var booking: UUID
        public var user: UUID
        public var tickets: Int
        /// ``TicketsLeftKeys/idempotency(user:booking:)`` when the client sent an `Idempotency-Key`.
        public var idempotencyKey: String?

        public init(event: UUID, booking: UUID, user: UUID, tickets: Int, idempotencyKey: String?) {
            (self.event, self.booking, self.user, self.tickets, self.idempotencyKey) = (event, booking, user, tickets, idempotencyKey)
        }
    }

    private static let admitScript = """
        \(AdmissionClaim.claimsLua)
        \(AdmissionClaim.gateLua)
        local gated = ARGV[9] == '1'
        local available
        if gated then
            local current = redis.call('GET', KEYS[1])
            available = current and tonumber(string.match(current, ':(-?%d+)$'))
            if not available then
                if ARGV[7] == '' then return {'unknown'} end
                available = tonumber(ARGV[7])
            end
        end
        local limit = tonumber(ARGV[3])
        if limit > 0 then
            local count = redis.call('INCR', KEYS[4])
            if count == 1 or redis.call('TTL', KEYS[4]) < 0 then redis.call('EXPIRE', KEYS[4], 60) end
            if count > limit then return {'rate_limited', redis.call('TTL', KEYS[4])} end
        end
        local keyed = ARGV[8] == '1'
        if keyed and not redis.call('SET', KEYS[6], 'publishing', 'NX', 'EX', 30) then
            if redis.call('GET', KEYS[6]) == 'queued' then return {'queued'} end
            return {'in_progress'}
        end
        if gated then
            local clock = redis.call('TIME')
            local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
            local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
            for _, id in ipairs(lapsed) do
                drop_claim(KEYS[3], id)
                redis.call('ZREM', KEYS[2], id)
            end
            -- Tickets of lapsed claims are free again: other servers must stop refusing from memory.
            if #lapsed > 0 then reopen(KEYS[7]) end
            local wanted = tonumber(ARGV[1])
            local cap = tonumber(ARGV[10])
            local mine = tonumber(redis.call('HGET', KEYS[3], 'u:' .. ARGV[6]) or '0')
            if cap > 0 and mine + wanted > cap and redis.call('HEXISTS', KEYS[3], ARGV[2]) == 0 then
                if keyed then redis.call('DEL', KEYS[6]) end
                return {'user_limit', math.max(0, cap - mine)}
            end
            local left = available - tonumber(redis.call('HGET', KEYS[3], 'total') or '0')
            if left < wanted then
                if keyed then redis.call('DEL', KEYS[6]) end
                return {'sold_out', math.max(0, left)}
            end
            claim(KEYS[3], ARGV[2], ARGV[6], wanted)
            local lease = tonumber(ARGV[4])
            redis.call('ZADD', KEYS[2], now + lease, ARGV[2])
            redis.call('PEXPIRE', KEYS[2], 2 * lease)
            redis.call('PEXPIRE', KEYS[3], 2 * lease)
        end
        redis.call('SET', KEYS[5], ARGV[6], 'EX', ARGV[5])
        return {'admitted'}
        """

    /// Undoes an admission whose job could not be published: the claim, the queued marker, the idempotency claim.
    /// `KEYS`: the queued marker, the idempotency key (or a placeholder), the event's tickets left and reopened key,
    /// then its leases and claims.
    private static let withdrawScript = """
        \(AdmissionClaim.gateLua)
        redis.call('DEL', KEYS[1], KEYS[2])
        local before = gate_free(KEYS[3], KEYS[6])
        \(AdmissionClaim.releaseLua(firstKey: "5", firstArgument: "1"))
        reopen_if_freer(KEYS[4], before, gate_free(KEYS[3], KEYS[6]))
        return 1
        """

    /// The tickets left when the sold-out memory refuses `tickets` of `event` without asking Redis; nil when it does
    /// not (not remembered, or enough left). A request with an Idempotency-Key always asks Redis: a retry of a
    /// booking already admitted must get its 202 back, not a refusal.
    public func soldOutFromMemory(event: UUID, tickets: Int, keyed: Bool) -> Int? {
        guard !keyed, let left = soldOut?.get(event), left < tickets else { return nil }
        return left
    }

    /// Runs the gate. `knownAvailable` is the tickets left just read from PostgreSQL, for an event Redis holds
    /// none for (after ``Verdict/availabilityUnknown``). Throws ``RedisError`` when Redis fails.
    public func admit(_ request: Admission, knownAvailable: Int? = nil) async throws -> Verdict {
        if let left = soldOutFromMemory(event: request.event, tickets: request.tickets, keyed: request.idempotencyKey != nil) {
            return .soldOut(left: left)
        }
        let memory = request.idempotencyKey == nil ? soldOut : nil
        let (event, tickets) = (request.event, request.tickets)
        let user = request.user.lowercasedText
        let reply = try await admissions.run(
            keys: [
                keys.availability(request.event), keys.admissionLeases(request.event), keys.admissionClaims(request.event),
                keys.bookingRateLimit(user), keys.queued(request.booking), request.idempotencyKey ?? keys.noIdempotencyKey,
                keys.gateReopened(request.event),
            ],
            // ARGV: tickets, booking, rate limit, lease (ms), marker TTL (s), owner, tickets left from PostgreSQL, keyed, gated,
            // the per-user cap
            arguments: [
                RedisArgument(request.tickets), RedisArgument(request.booking.lowercasedText), RedisArgument(perMinute),
                RedisArgument(Int(leaseDuration.components.seconds * 1000)), RedisArgument(Self.memory), RedisArgument(user),
                RedisArgument(knownAvailable.map(String.init) ?? ""), RedisArgument(request.idempotencyKey == nil ? "0" : "1"),
                RedisArgument(enabled ? "1" : "0"), RedisArgument(perUserLimit),
            ],
            answered: memory.map { Self.refusal(from: $0, event: event, tickets: tickets) },
            heard: memory.map { Self.remember(in: $0, event: event, then: heardSoldOut) })
        guard case .array(let parts) = reply, let verdict = parts.first?.string else { throw RedisError(kind: .unexpectedReply) }
        switch verdict {
        case "admitted": return .admitted
        case "queued": return .alreadyQueued
        case "in_progress": return .inProgress
        case "sold_out":
            let left = Int(parts.dropFirst().first?.integer ?? 0)
            memory?.put(event, left)
            return .soldOut(left: left)
        case "rate_limited": return .rateLimited(retryAfter: max(1, Int(parts.dropFirst().first?.integer ?? 60)))
        case "user_limit": return .userLimit(left: Int(parts.dropFirst().first?.integer ?? 0))
        case "unknown": return .availabilityUnknown
        default: throw RedisError(kind: .unexpectedReply)
        }
    }

    /// Puts a sold-out reply's tickets left in `memory` as the reply arrives, then calls `then`.
    private static func remember(in memory: any SoldOutMemory, event: UUID, then: (@Sendable () -> Void)?) -> @Sendable (RedisValue) -> Void {
        { reply in
            guard case .array(let parts) = reply, parts.first?.string == "sold_out" else { return }
            memory.put(event, Int(parts.dropFirst().first?.integer ?? 0))
            then?()
        }
    }

    /// The script's sold-out reply, when `memory` shows the event cannot fit `tickets` (asked as the pipeline leaves).
    private static func refusal(from memory: any SoldOutMemory, event: UUID, tickets: Int) -> @Sendable () -> RedisValue? {
        {
            guard let left = memory.get(event), left < tickets else { return nil }
            return RedisValue.array([.bulk(Array("sold_out".utf8)), .integer(Int64(left))])
        }
    }

    /// Gives an admission back after its publish failed, so a retry can be admitted and nothing stays claimed.
    public func withdraw(_ request: Admission) async throws {
        let names = [
            keys.queued(request.booking), request.idempotencyKey ?? keys.noIdempotencyKey,
            keys.availability(request.event), keys.gateReopened(request.event),
            keys.admissionLeases(request.event), keys.admissionClaims(request.event),
        ]
        _ = try await redis.evalScript(Self.withdrawScript, keys: names, arguments: [RedisArgument(request.booking.lowercasedText)])
    }

    /// Marks a published booking's idempotency key done (a retry then gets the same booking id at once).
    public func markPublished(idempotencyKey key: String) async throws {
        _ = try await redis.set(key, value: "queued", expiresIn: .seconds(Self.memory))
    }

    /// The state of an idempotency key another request holds: `publishing`, `queued`, or nil once it let go.
    public func idempotencyState(_ key: String) async throws -> String? { try await redis.getString(key) }

    /// The owner of a booking that is queued and not yet decided, if Redis remembers it.
    public func queuedOwner(_ id: UUID) async -> UUID? {
        guard let text = try? await redis.getString(keys.queued(id)) else { return nil }
        return UUID(uuidString: text)
    }
}
