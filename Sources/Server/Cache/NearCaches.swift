import EventAvailability
import Foundation
import HappeningModel
import HappeningRedis
import NIOCore

/// A cached JSON body as this server holds it in process: the bytes, and where each event's tickets left sit
/// in them (found once, when the copy is made, rather than on every answer).
struct CachedBody: Sendable {
    let bytes: ByteBuffer
    /// Nil for a body that is not an event or a page of events (the list generation, a test's bytes).
    let slots: AvailabilitySlots?

    init(_ bytes: ByteBuffer) {
        self.bytes = bytes
        self.slots = bytes.withUnsafeReadableBytes { AvailabilitySlots(scanning: $0) }
    }

    /// What holding it costs, roughly: its bytes, the slots found in them and the dictionary entry's overhead.
    var weight: Int { bytes.readableBytes + (slots?.ids.count ?? 0) * 48 + 128 }
}

/// The server's two in-process caches and the one Redis feed that keeps both coherent: cached bodies by
/// Redis key (events, pages, the list generation) and tickets left by event id (``AvailabilityCache``).
///
/// Redis reports changed keys by name; a tickets-left key (`event:<id>:available`) drops the event's copy in
/// ``tickets``, every other key its copy in ``bodies``. Live and reset apply to both.
final class NearCaches: Sendable {
    let bodies: NearCache<String, CachedBody>
    let tickets: NearCache<UUID, Availability>
    /// Events the admission gate just found sold out, with the tickets still unclaimed: intake refuses from here
    /// for at most ``soldOutMemory`` (a change of the event's tickets left drops the entry at once, like `tickets`).
    let soldOut: NearCache<UUID, Int>
    /// 250 ms: the longest intake refuses from the sold-out memory before asking the gate again (claims released
    /// without a change of tickets left — a refused job, a lapsed lease — push nothing).
    static let soldOutMemory = Duration.milliseconds(250)
    private let keys: CacheKeys

    /// - Parameters:
    ///   - capacity: most copies each cache holds (`NEAR_CACHE_ENTRIES`).
    ///   - ttl: longest a copy is kept.
    ///   - byteBudget: most bytes of bodies held (`NEAR_CACHE_MB`); a body over `maximumBodyBytes`
    ///     (`NEAR_CACHE_MAX_ENTRY_KB`) is served from Redis and never held.
    init(capacity: Int, ttl: Duration, byteBudget: Int = 256 << 20, maximumBodyBytes: Int = 256 << 10, keys: CacheKeys) {
        bodies = NearCache(
            capacity: capacity, ttl: ttl, weigh: { $0.weight }, byteBudget: byteBudget, maximumEntryWeight: maximumBodyBytes)
        tickets = NearCache(capacity: capacity, ttl: ttl)
        soldOut = NearCache(capacity: min(capacity, 4_096), ttl: min(ttl, Self.soldOutMemory), hitsMetric: "happening_admission_sold_out_memory_hits_total")
        self.keys = keys
    }

    /// True while the invalidation listener is subscribed.
    var isLive: Bool { bodies.isLive && tickets.isLive }

    /// Copies held, bodies and tickets left together.
    var count: Int { bodies.count + tickets.count }

    /// Applies what the listener reports.
    func apply(_ event: RedisInvalidationListener.Event) {
        switch event {
        case .live:
            bodies.markLive()
            tickets.markLive()
            soldOut.markLive()
        case .invalidated(let changed):
            var events: [UUID] = []
            var others: [String] = []
            for key in changed {
                if let id = keys.availabilityEvent(inKey: key) { events.append(id) } else { others.append(key) }
            }
            if !events.isEmpty {
                tickets.remove(events)
                soldOut.remove(events)
            }
            if !others.isEmpty { bodies.remove(others) }
        case .reset:
            bodies.reset()
            tickets.reset()
            soldOut.reset()
        }
    }
}
