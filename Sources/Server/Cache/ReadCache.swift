import EventAvailability
import Foundation
import HTTPTypes
import HappeningModel
import HappeningRedis
import Hummingbird
import Logging
import Metrics
import Synchronization

/// The Redis read cache for public GETs.
///
/// - Single events live at `event:<id>`; lists and searches at `events:g<generation>:<canonical key>`.
/// - Tickets left are not taken from the entries: every cached answer gets each event's current value written
///   in as it is served (``AvailabilityCache``, ``AvailabilitySlots``). A booking changes one small key per event
///   (`event:<id>:available`), so a flash sale retires no entry at all.
/// - A change of what an entry shows besides tickets left (an event created, edited, approved, rejected,
///   cancelled) bumps `event:<id>:version`, deletes `event:<id>` and bumps `events:generation`, so list entries of
///   older generations are simply never read again (and expire by TTL): no `KEYS`, no `SCAN`.
/// - A miss stores its result only if the event's version (or the list generation) is still the one it
///   read before loading: a load that raced a change can never leave a stale entry behind.
/// - The generation and the entry are read in one round trip (a small Lua script).
/// - Concurrent misses on one key in this process share one database query (stampede guard). The load answers
///   before its store lands; a lookup that missed the store in between takes the load's body (``RecentLoads``).
/// - Hot entries are also held in this process (``NearCaches``), kept coherent by Redis's own invalidation
///   pushes: a hit there costs no round trip, and finds where its events' tickets left sit already known
///   (``CachedBody``); an answer whose tickets left are all unchanged is served without a copy.
/// - Redis down or slow: the request is served from PostgreSQL and counted; after a failure the cache is
///   skipped for a second, so an outage costs one short timeout per second, not one per request.
final class ReadCache: Sendable {
    enum Outcome: String {
        case hit = "HIT"
        case miss = "MISS"
        case bypass = "BYPASS"
    }

    private let redis: RedisClient
    private let near: NearCaches?
    private let availability: AvailabilityCache?
    private let enabled: Bool
    private let ttl: Int
    private let inFlight = SingleFlight<String, [UInt8]>()
    private let recentLoads = RecentLoads()
    private let storedLookups = SingleFlight<UUID, ByteBuffer>()
    private let skipUntil = Mutex<ContinuousClock.Instant?>(nil)
    private let hits = Counter(label: "happening_cache_hits_total")
    private let misses = Counter(label: "happening_cache_misses_total")
    private let errors = Counter(label: "happening_cache_errors_total")
    /// How many times a miss actually ran its database query (concurrent misses share one).
    private let loadCount = Mutex(0)
    var loads: Int { loadCount.withLock { $0 } }

    /// Key names shared with the worker (`CACHE_PREFIX` first).
    private let keys: CacheKeys
    private static let readScript = """
        local g = redis.call('GET', KEYS[1]) or '0'
        return {g, redis.call('GET', ARGV[1] .. g .. ':' .. ARGV[2])}
        """
    /// Reads an event's version and entry in one round trip.
    private static let readEventScript = """
        return {redis.call('GET', KEYS[1]) or '0', redis.call('GET', KEYS[2])}
        """
    /// Stores an entry only if the version is still the one the load started from.
    private static let storeIfVersionScript = """
        if (redis.call('GET', KEYS[1]) or '0') == ARGV[1] then
            redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
            return 1
        end
        return 0
        """

    /// Where a miss stores its result: the key, and for events the version the load started from.
    private struct Store: Sendable {
        let key: String
        var version: (key: String, value: String)? = nil
    }

    /// - Parameters:
    ///   - near: in-process copies of hot entries, or nil to always ask Redis.
    ///   - availability: where served entries get their tickets left from; nil serves entries as stored.
    ///   - frozenTicketsLeft: the `frozen-tickets-left` mutation: entries are served with the tickets left they were
    ///     stored with (``HappeningConfig/Mutation``).
    init(
        redis: RedisClient, enabled: Bool, ttl: Int, prefix: String = "", near: NearCaches? = nil,
        availability: AvailabilityCache? = nil, frozenTicketsLeft: Bool = false
    ) {
        self.redis = redis
        self.near = near
        self.availability = frozenTicketsLeft ? nil : availability
        self.keys = CacheKeys(prefix: prefix)
        self.enabled = enabled
        self.ttl = ttl
    }

    /// A JSON response for a list key (generation-scoped), from the cache or from `compute`.
    func list(_ key: String, logger: Logger, compute: @escaping @Sendable () async throws -> [UInt8]) async throws -> Response {
        let generationKey = keys.generation
        if let held = heldList(key) { return Self.response(held, .hit) }
        if enabled, let near = near?.bodies, let generation = near.get(generationKey),
            let cached = near.get(listEntryKey(generation: String(buffer: generation.bytes), key))
        {
            hits.increment()
            return Self.response(await withAvailability(cached, logger: logger), .hit)
        }
        let reservation = enabled ? near?.bodies.reserve(generationKey) : nil
        let (body, outcome, current) = try await serveBytes(logger: logger, compute: compute) {
            let reply = try await self.redis.evalScript(
                Self.readScript, keys: [generationKey], arguments: [RedisArgument(self.keys.listPrefix), RedisArgument(key)])
            guard case .array(let parts) = reply, parts.count == 2 else { throw RedisError(kind: .unexpectedReply) }
            // The key names the generation read: a store after a bump lands on a key nobody reads.
            let generation = parts[0].string ?? "0"
            let entryKey = self.listEntryKey(generation: generation, key)
            if let near = self.near?.bodies, let reservation {
                near.fill(reservation, with: CachedBody(ByteBuffer(string: generation)))
                // An entry of one generation never changes (a change bumps the generation), so no race to guard.
                if let entry = parts[1].bytes, let entryReservation = near.reserve(entryKey) {
                    near.fill(entryReservation, with: CachedBody(ByteBuffer(bytes: entry)))
                }
            }
            return (parts[1].bytes, Store(key: entryKey))
        }
        let buffer = ByteBuffer(bytes: body)
        return Self.response(current ? buffer : await withAvailability(CachedBody(buffer), logger: logger), outcome)
    }

    private func listEntryKey(generation: String, _ key: String) -> String { "\(keys.listPrefix)\(generation):\(key)" }

    /// A JSON response for a single event (`event:<id>`), from the cache or from `compute`.
    func event(_ id: UUID, logger: Logger, compute: @escaping @Sendable () async throws -> [UInt8]) async throws -> Response {
        let (body, outcome) = try await eventBuffer(id, logger: logger, compute: compute)
        return Self.response(body, outcome)
    }

    /// The cached JSON of a single event (`event:<id>`), or `compute`'s, stored for next time.
    func eventBytes(_ id: UUID, logger: Logger, compute: @escaping @Sendable () async throws -> [UInt8]) async throws -> ([UInt8], Outcome) {
        let (body, outcome) = try await eventBuffer(id, logger: logger, compute: compute)
        return (Array(body.readableBytesView), outcome)
    }

    /// The event's body as cached, its tickets left not merged in (they may be older than a second): for checks
    /// that need only what an edit changes (it exists, when it starts).
    /// Concurrent callers for one event share one lookup (a sale's first thousand requests arrive together).
    func storedEvent(_ id: UUID, logger: Logger, compute: @escaping @Sendable () async throws -> [UInt8]) async throws -> CachedBody {
        if enabled, let cached = near?.bodies.get(keys.event(id)) {
            hits.increment()
            return cached
        }
        return CachedBody(try await storedLookups.value(for: id) { try await self.eventBuffer(id, merging: false, logger: logger, compute: compute).0 })
    }

    /// The event's body as this server holds it, with tickets left this server holds too written in; nil when either
    /// is not held (then ``event(_:logger:compute:)`` asks Redis). Synchronous: answered on the event loop
    /// (``InlineRoutes``) as well as by the route.
    func heldEvent(_ id: UUID) -> ByteBuffer? {
        guard enabled, let near, let cached = near.bodies.get(keys.event(id)) else { return nil }
        return merged(held: cached)
    }

    /// A list page (`key` as ``list(_:logger:compute:)`` takes it) as this server holds it for the current generation,
    /// tickets left written in; nil when the generation, the page or any event's tickets left is not held here.
    func heldList(_ key: String) -> ByteBuffer? {
        guard enabled, let near = near?.bodies, let generation = near.get(keys.generation),
            let cached = near.get(listEntryKey(generation: String(buffer: generation.bytes), key))
        else { return nil }
        return merged(held: cached)
    }

    /// `cached` with the tickets left this server holds written in; nil when any of them is not held.
    private func merged(held cached: CachedBody) -> ByteBuffer? {
        guard let slots = cached.slots, !slots.ids.isEmpty else {
            hits.increment()
            return cached.bytes
        }
        guard let held = availability?.held(slots.ids) else { return nil }
        hits.increment()
        guard slots.differs(from: held) else { return cached.bytes }
        return ByteBuffer(bytes: cached.bytes.withUnsafeReadableBytes { slots.merged($0, values: held) })
    }

    /// The start of an event as this server holds its body, if held (the intake's first check, on the event loop).
    func heldEventStart(_ id: UUID) -> Date? {
        guard enabled else { return nil }
        return near?.bodies.get(keys.event(id))?.eventStart
    }

    private func eventBuffer(
        _ id: UUID, merging: Bool = true, logger: Logger, compute: @escaping @Sendable () async throws -> [UInt8]
    ) async throws -> (ByteBuffer, Outcome) {
        let (key, versionKey) = (keys.event(id), keys.eventVersion(id))
        if merging, let held = heldEvent(id) { return (held, .hit) }
        if enabled, let cached = near?.bodies.get(key) {
            hits.increment()
            return (merging ? await withAvailability(cached, logger: logger) : cached.bytes, .hit)
        }
        let reservation = enabled ? near?.bodies.reserve(key) : nil
        let (body, outcome, current) = try await serveBytes(logger: logger, compute: compute) {
            let reply = try await self.redis.evalScript(Self.readEventScript, keys: [versionKey, key])
            guard case .array(let parts) = reply, parts.count == 2 else { throw RedisError(kind: .unexpectedReply) }
            return (parts[1].bytes, Store(key: key, version: (versionKey, parts[0].string ?? "0")))
        }
        let cached = CachedBody(ByteBuffer(bytes: body))
        // Only what Redis held is copied: a fresh load's store may be refused, and its own write is pushed back.
        if outcome == .hit, let reservation { near?.bodies.fill(reservation, with: cached) }
        return (current || !merging ? cached.bytes : await withAvailability(cached, logger: logger), outcome)
    }

    /// The body with each event's current tickets left written in. A body that is not a page or an event
    /// (a test's bytes) and a failure of both Redis and PostgreSQL leave it as stored.
    private func withAvailability(_ body: CachedBody, logger: Logger) async -> ByteBuffer {
        guard let availability, let slots = body.slots, !slots.ids.isEmpty else { return body.bytes }
        do {
            let values = try await availability.current(slots.ids, logger: logger)
            guard slots.differs(from: values) else { return body.bytes }
            return ByteBuffer(bytes: body.bytes.withUnsafeReadableBytes { slots.merged($0, values: values) })
        } catch {
            logger.warning("tickets left unavailable; serving the cached entry as stored", metadata: ["error": "\(error)"])
            return body.bytes
        }
    }

    /// Drops this server's own copies of events' tickets left after it changed them (a cancellation, a released hold,
    /// an edit): read-your-writes without waiting for Redis's push. The change published the new values after its
    /// commit (``TicketsLeft``); lists and event entries stay cached.
    func ticketsLeftChanged(_ events: Set<UUID>) {
        near?.ticketsChanged(events)
    }

    /// Forgets an event: its own entry, and (by a new generation) every list and search.
    func invalidate(event id: UUID, logger: Logger) async {
        guard enabled else { return }
        do {
            _ = try await redis.pipeline(keys.invalidation(for: [id]).map { $0.map { RedisArgument($0) } })
        } catch {
            errors.increment()
            logger.warning("cache invalidation failed; entries expire by TTL", metadata: ["error": "\(error)"])
        }
        // Read-your-writes here without waiting for Redis's push (which drops other processes' copies).
        near?.bodies.remove([keys.event(id), keys.eventVersion(id), keys.generation])
        // An edit of total_tickets moves tickets left too.
        ticketsLeftChanged([id])
    }

    // MARK: Mechanics

    private func serveBytes(
        logger: Logger,
        compute: @escaping @Sendable () async throws -> [UInt8],
        lookup: () async throws -> ([UInt8]?, Store)
    ) async throws -> ([UInt8], Outcome, current: Bool) {
        // `current`: read from PostgreSQL just now, by this request (the cache off, Redis failing, or its own load
        // on a miss), so its tickets left need no merge.
        guard enabled else { return (try await compute(), .bypass, true) }
        if let until = skipUntil.withLock({ $0 }), ContinuousClock.now < until {
            errors.increment()
            return (try await compute(), .miss, true)
        }
        let lookedUp = ContinuousClock.now
        let store: Store
        do {
            let (cached, target) = try await lookup()
            if let cached {
                hits.increment()
                return (cached, .hit, false)
            }
            store = target
        } catch {
            noteFailure(error, logger: logger)
            return (try await compute(), .miss, true)
        }
        // The entry a load stores after answering, sought before its store landed: the load's body (what this lookup
        // would have found a moment later).
        if let recent = recentLoads.body(store.key, version: store.version?.value, lookedUpAt: lookedUp) {
            hits.increment()
            return (recent, .hit, false)
        }
        misses.increment()
        // One load per key at a time; its store runs after the answer, and until it lands (and a second more) a caller
        // whose lookup missed it takes the body from `recentLoads` — no second query, no second look in Redis.
        let (body, loadedHere) = try await inFlight.run(for: store.key) {
            self.loadCount.withLock { $0 += 1 }
            let body = try await compute()
            let id = self.recentLoads.storing(store.key, version: store.version?.value, body: body)
            Task { await self.keep(body, at: store, load: id, logger: logger) }
            return body
        }
        // Read from PostgreSQL by this request's own load, started after the request came: its tickets left are at
        // least as new as the request, like a read with the cache off, and need no merge (a round trip to Redis
        // when this server does not hold them). A shared load may have started before this request: merged like a
        // hit.
        return (body, .miss, loadedHere)
    }

    /// Stores a load's body in Redis — an event's only if its version is still the one the load's lookup read — and
    /// ends its stay in ``recentLoads`` (kept a second more when stored, dropped when refused or failed).
    private func keep(_ body: [UInt8], at store: Store, load id: UInt64, logger: Logger) async {
        do {
            var stored = true
            if let version = store.version {
                let reply = try await redis.evalScript(
                    Self.storeIfVersionScript, keys: [version.key, store.key],
                    arguments: [RedisArgument(version.value), RedisArgument(bytes: body), RedisArgument(ttl)])
                stored = reply.integer == 1
            } else {
                try await redis.set(store.key, value: RedisArgument(bytes: body), expiresIn: .seconds(ttl))
            }
            if stored { recentLoads.stored(store.key, id: id) } else { recentLoads.dropped(store.key, id: id) }
        } catch {
            recentLoads.dropped(store.key, id: id)
            noteFailure(error, logger: logger)
        }
    }

    private func noteFailure(_ error: any Error, logger: Logger) {
        errors.increment()
        skipUntil.withLock { $0 = ContinuousClock.now + .seconds(1) }
        logger.warning("cache unavailable; serving from the database", metadata: ["error": "\(error)"])
    }

    private static let xCache = HTTPField.Name("X-Cache")!

    private static func response(_ body: ByteBuffer, _ outcome: Outcome) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8", xCache: outcome.rawValue],
            body: .init(byteBuffer: body))
    }
}

/// JSON encoding shared by cached responses (ISO 8601 dates, sorted keys so equal data is equal bytes).
enum JSON {
    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }
}
