import Foundation
import HappeningModel
import HappeningPostgres
import HappeningRedis

/// Where an event's tickets left are read and published: PostgreSQL (the authority) and Redis
/// (`event:<id>:available`, what the servers read, kept fresh by whoever changes it).
///
/// Redis values carry the row's ``Availability/version`` and a store keeps the newer of the two, so a
/// worker, the hold sweeper and a server's miss may publish the same event concurrently in any order.
/// An entry lives at most `ttl` (``defaultTTL``): a process that dies between its commit and its publish
/// leaves a value that old at worst.
public struct AvailabilityStore: Sendable {
    /// 30 s: how old a value can get when its publisher died after committing (`AVAILABILITY_TTL`).
    public static let defaultTTL = 30

    let postgres: PostgresClient
    let redis: RedisClient?
    /// The cache's key names (`CACHE_PREFIX` first).
    public let keys: CacheKeys
    let ttl: Int

    public init(postgres: PostgresClient, redis: RedisClient?, keys: CacheKeys = CacheKeys(), ttl: Int = AvailabilityStore.defaultTTL) {
        self.postgres = postgres
        self.redis = redis
        self.keys = keys
        self.ttl = max(1, ttl)
    }

    /// Stores each value unless Redis already holds the same or a newer version, then releases admission claims;
    /// returns how many values it wrote. Unchanged values are not rewritten, so readers' in-process copies are not
    /// dropped for nothing. `ARGV[1]` is the TTL, `ARGV[2]` the number of values (their keys come first).
    private static let storeScript = """
        local count = tonumber(ARGV[2])
        local stored = 0
        for i = 1, count do
            local version = tonumber(ARGV[1 + 2 * i])
            local current = redis.call('GET', KEYS[i])
            local held = current and tonumber(string.match(current, '^(%d+):'))
            if not held or held < version then
                redis.call('SET', KEYS[i], ARGV[1 + 2 * i] .. ':' .. ARGV[2 + 2 * i], 'EX', ARGV[1])
                stored = stored + 1
            end
        end
        \(AdmissionClaim.releaseLua(firstKey: "count + 1", firstArgument: "2 * count + 3"))
        return stored
        """

    /// The current values from PostgreSQL; events that do not exist are absent.
    public func load(_ ids: some Collection<UUID>) async throws -> [UUID: Availability] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await postgres.query(
            "SELECT id, available_tickets, availability_version FROM events WHERE id = ANY($1::uuid[])", [PostgresArray(Array(ids))])
        var values: [UUID: Availability] = [:]
        for row in rows {
            values[try row.decode(0, as: UUID.self)] = Availability(available: try row.decode(1), version: try row.decode(2))
        }
        return values
    }

    /// What Redis holds for these events (one `MGET`); missing and unreadable entries are absent.
    public func read(_ ids: [UUID]) async throws -> [UUID: Availability] {
        guard let redis, !ids.isEmpty else { return [:] }
        let reply = try await redis.send(["MGET"] + ids.map { RedisArgument(keys.availability($0)) })
        guard case .array(let values) = reply, values.count == ids.count else { throw RedisError(kind: .unexpectedReply) }
        var found: [UUID: Availability] = [:]
        for (id, value) in zip(ids, values) {
            if let bytes = value.bytes, let availability = Availability(encoded: bytes) { found[id] = availability }
        }
        return found
    }

    /// Publishes values to Redis, keeping newer ones already there, and releases `claims` in the same script (so
    /// an admission gate sees a decision's new tickets left and its released claim at once). Throws when Redis fails.
    public func store(_ values: [UUID: Availability], releasing claims: [AdmissionClaim] = []) async throws {
        guard let redis, !values.isEmpty || !claims.isEmpty else { return }
        let pairs = Array(values)
        var arguments: [RedisArgument] = [RedisArgument(ttl), RedisArgument(pairs.count)]
        for (_, value) in pairs { arguments += [RedisArgument(String(value.version)), RedisArgument(value.available)] }
        var names = pairs.map { keys.availability($0.key) }
        for claim in claims {
            names += [keys.admissionLeases(claim.event), keys.admissionClaims(claim.event)]
            arguments.append(RedisArgument(claim.booking.lowercasedText))
        }
        _ = try await redis.evalScript(Self.storeScript, keys: names, arguments: arguments)
    }

    /// Reads the events' current values from PostgreSQL and publishes them (after a commit that changed them),
    /// releasing `claims` with them.
    public func publish(_ ids: some Collection<UUID>, releasing claims: [AdmissionClaim] = []) async throws {
        guard redis != nil, !ids.isEmpty || !claims.isEmpty else { return }
        try await store(ids.isEmpty ? [:] : try await load(ids), releasing: claims)
    }
}
