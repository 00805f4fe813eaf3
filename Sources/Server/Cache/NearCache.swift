import HappeningRedis
import Metrics
import Synchronization

/// In-process copies of hot Redis cache entries (a "near cache"), kept coherent by Redis itself.
///
/// A cached read that finds its entry here costs no Redis round trip. Coherence comes from
/// ``RedisInvalidationListener``: Redis reports every change to a cache key, by any server or worker, and the
/// copy is dropped (``NearCaches`` routes each reported key to the cache that holds it). The rules that keep a
/// stale copy out:
/// - Nothing is held or served unless the listener is live (``markLive()``); a reset (Redis lost, restarted,
///   flushed) drops everything (``reset()``).
/// - A copy may only be filled through a ``Reservation`` taken *before* the Redis read: a change reported
///   between the reservation and the fill removes the reservation, and the fill is refused.
/// - This server's own writes drop the affected copies as soon as Redis has the change (``remove(_:)``), so
///   a client reads its own writes without waiting for the push.
/// - Copies live at most `ttl`; when `capacity` copies are held, or their weight (bytes, as `weigh` counts them)
///   would pass `byteBudget`, expired ones go first, then all. A copy heavier than `maximumEntryWeight` is never held
///   (it is served from Redis): distinct large pages cannot fill the process's memory.
///
/// The window in which another process's change is not yet seen is the push's delivery time on loopback
/// (well under a millisecond), the same order as the Redis read it replaces.
///
/// `Key` is what the copy is found by (a Redis key, or an event id for tickets left, which makes a page's
/// twenty lookups hash a UUID each rather than build twenty key strings); `Value` is the copy, decoded once
/// when it is filled.
final class NearCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// Permission to fill one key, taken before reading it from Redis.
    struct Reservation: Sendable {
        fileprivate let key: Key
        fileprivate let token: UInt64
    }

    private enum Slot {
        case reserved(token: UInt64)
        case filled(Value, expires: ContinuousClock.Instant, weight: Int)
    }

    private struct State {
        var live = false
        var slots: [Key: Slot] = [:]
        var nextToken: UInt64 = 0
        /// The weight of the filled copies.
        var weight = 0

        /// Sets `key`'s slot, keeping ``weight`` in step.
        mutating func set(_ key: Key, _ slot: Slot?) {
            if case .filled(_, _, let old)? = slots[key] { weight -= old }
            if case .filled(_, _, let new)? = slot { weight += new }
            slots[key] = slot
        }
    }

    private let state = Mutex(State())
    private let capacity: Int
    private let ttl: Duration
    private let weigh: @Sendable (Value) -> Int
    private let byteBudget: Int
    private let maximumEntryWeight: Int
    private let hits: Counter
    private let resets = Counter(label: "happening_cache_near_resets_total")

    /// - Parameters:
    ///   - capacity: most copies held (`NEAR_CACHE_ENTRIES`).
    ///   - ttl: longest a copy is kept (at most the Redis entry's TTL).
    ///   - weigh: a copy's weight in bytes (1 each by default: then only `capacity` bounds the cache).
    ///   - byteBudget: most weight held (`NEAR_CACHE_MB`).
    ///   - maximumEntryWeight: heaviest copy held (`NEAR_CACHE_MAX_ENTRY_KB`).
    ///   - hitsMetric: the counter of copies served (the read cache's by default).
    init(
        capacity: Int, ttl: Duration, weigh: @escaping @Sendable (Value) -> Int = { _ in 1 }, byteBudget: Int = .max,
        maximumEntryWeight: Int = .max, hitsMetric: String = "happening_cache_near_hits_total"
    ) {
        self.capacity = max(1, capacity)
        self.ttl = ttl
        self.weigh = weigh
        self.byteBudget = byteBudget
        self.maximumEntryWeight = maximumEntryWeight
        self.hits = Counter(label: hitsMetric)
    }

    /// The weight of the copies held.
    var weight: Int { state.withLock { $0.weight } }

    /// True while the listener is subscribed (copies are held and served).
    var isLive: Bool { state.withLock { $0.live } }

    /// How many copies are held.
    var count: Int {
        state.withLock { state in state.slots.values.reduce(0) { if case .filled = $1 { $0 + 1 } else { $0 } } }
    }

    /// The copy of `key`, if one is held and fresh.
    func get(_ key: Key) -> Value? {
        let now = ContinuousClock.now
        let found = state.withLock { state -> Value? in
            guard state.live, case .filled(let value, let expires, _)? = state.slots[key], now < expires else { return nil }
            return value
        }
        if found != nil { hits.increment() }
        return found
    }

    /// The fresh copies held of `keys` (one lock for all of them).
    func get(_ keys: some Sequence<Key>) -> [Key: Value] {
        let now = ContinuousClock.now
        let found = state.withLock { state -> [Key: Value] in
            guard state.live else { return [:] }
            var found: [Key: Value] = [:]
            found.reserveCapacity(keys.underestimatedCount)
            for key in keys {
                if case .filled(let value, let expires, _)? = state.slots[key], now < expires { found[key] = value }
            }
            return found
        }
        if !found.isEmpty { hits.increment(by: found.count) }
        return found
    }

    /// Taken before reading `key` from Redis; nil while not live (then nothing is filled).
    func reserve(_ key: Key) -> Reservation? {
        state.withLock { state in
            guard state.live else { return nil }
            state.nextToken &+= 1
            if state.slots[key] == nil, state.slots.count >= capacity { makeRoom(&state) }
            state.set(key, .reserved(token: state.nextToken))
            return Reservation(key: key, token: state.nextToken)
        }
    }

    /// Fills a reserved key with what Redis returned; refused if the key changed since the reservation.
    func fill(_ reservation: Reservation, with value: Value) {
        let expires = ContinuousClock.now + ttl
        let weight = weigh(value)
        state.withLock { state in
            guard state.live, case .reserved(let token)? = state.slots[reservation.key], token == reservation.token else { return }
            hold(&state, reservation.key, value, expires: expires, weight: weight)
        }
    }

    /// Holds `value` for `key` without a reservation (when live): for a copy whose staleness the TTL alone bounds
    /// (a change pushed while it was read is not noticed). Takes the place of a pending reservation.
    func put(_ key: Key, _ value: Value) {
        let expires = ContinuousClock.now + ttl
        let weight = weigh(value)
        state.withLock { state in
            guard state.live else { return }
            if state.slots[key] == nil, state.slots.count >= capacity { makeRoom(&state) }
            hold(&state, key, value, expires: expires, weight: weight)
        }
    }

    /// Fills `key` unless the copy is too heavy to keep (then its slot is freed), making room in the budget first.
    private func hold(_ state: inout State, _ key: Key, _ value: Value, expires: ContinuousClock.Instant, weight: Int) {
        guard weight <= maximumEntryWeight else {
            state.set(key, nil)
            return
        }
        state.set(key, nil)
        if state.weight + weight > byteBudget { makeRoom(&state) }
        state.set(key, .filled(value, expires: expires, weight: weight))
    }

    /// Drops copies (and reservations) of keys that changed.
    func remove(_ keys: some Sequence<Key>) {
        state.withLock { state in
            for key in keys { state.set(key, nil) }
        }
    }

    /// The listener is subscribed: from now on every change is reported, so copies may be held.
    func markLive() { state.withLock { $0.live = true } }

    /// Changes may have gone unseen: drop everything and hold nothing until ``markLive()``.
    func reset() {
        resets.increment()
        state.withLock { state in
            state.live = false
            state.slots.removeAll()
            state.weight = 0
        }
    }

    /// Full (by count or by weight): drop expired copies; if that frees nothing worth having, drop everything (misses
    /// refill it).
    private func makeRoom(_ state: inout State) {
        let now = ContinuousClock.now
        for (key, slot) in state.slots {
            if case .filled(_, let expires, _) = slot, now >= expires { state.set(key, nil) }
        }
        if state.slots.count >= capacity * 9 / 10 || state.weight >= byteBudget / 10 * 9 {
            state.slots.removeAll(keepingCapacity: true)
            state.weight = 0
        }
    }
}

extension NearCache where Key == String {
    /// Applies what the listener reports, for a cache keyed by Redis keys.
    func apply(_ event: RedisInvalidationListener.Event) {
        switch event {
        case .live: markLive()
        case .invalidated(let keys): remove(keys)
        case .reset: reset()
        }
    }
}
