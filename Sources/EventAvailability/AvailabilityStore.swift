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
    public let keys: TicketsLeftKeys
    let ttl: Int

    public init(postgres: PostgresClient, redis: RedisClient?, keys: TicketsLeftKeys = TicketsLeftKeys(), ttl: Int = AvailabilityStore.defaultTTL) {
        self.postgres = postgres
        self.redis = redis
        self.keys = keys
        self.ttl = max(1, ttl)
    }

    /// Stores each value unless Redis already holds the same or a newer version, then releases admission claims;
    /// returns how many values it wrote. Unchanged values are not rewritten, so readers' in-process copies are not
    /// dropped for nothing. Every event touched whose gate can admit more afterwards gets its reopened key bumped
    /// (``TicketsLeftKeys/gateReopened(_:)``). `KEYS`: (tickets left, claims, reopened) per event touched — the stored values'
    /// events first, in order — then (leases, claims) per claim released. `ARGV`: the TTL, the number of values, the
    /// number of events touched, (version, tickets left) per value, then the released bookings.
    private static let storeScript = """
        \(AdmissionClaim.gateLua)
        local count, touched = tonumber(ARGV[2]), tonumber(ARGV[3])
        local before = {}
        for e = 1, touched do before[e] = gate_free(KEYS[3 * e - 2], KEYS[3 * e - 1]) end
        local stored = 0
        for i = 1, count do
            local version = tonumber(ARGV[2 + 2 * i])
            local current = redis.call('GET', KEYS[3 * i - 2])
            local held = current and tonumber(string.match(current, '^(%d+):'))
            if not held or held < version then
                redis.call('SET', KEYS[3 * i - 2], ARGV[2 + 2 * i] .. ':' .. ARGV[3 + 2 * i], 'EX', ARGV[1])
                stored = stored + 1
            end
        end
        \(AdmissionClaim.releaseLua(firstKey: "3 * touched + 1", firstArgument: "2 * count + 4"))
        for e = 1, touched do reopen_if_freer(KEYS[3 * e], before[e], gate_free(KEYS[3 * e - 2], KEYS[3 * e - 1])) end
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
        var touched = pairs.map(\.key)
        for claim in claims where values[claim.event] == nil && !touched.contains(claim.event) { touched.append(claim.event) }
        var arguments: [RedisArgument] = [RedisArgument(ttl), RedisArgument(pairs.count), RedisArgument(touched.count)]
        for (_, value) in pairs { arguments += [RedisArgument(String(value.version)), RedisArgument(value.available)] }
        var names = touched.flatMap { [keys.availability($0), keys.admissionClaims($0), keys.gateReopened($0)] }
        for claim in claims {
            names += [keys.admissionLeases(claim.event), keys.admissionClaims(claim.event)]
            arguments.append(RedisArgument(claim.booking.lowercasedText))
        }
        _ = try await redis.evalScript(Self.storeScript, keys: names, arguments: arguments)
    }
}
