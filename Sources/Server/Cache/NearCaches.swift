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
    /// When the event starts, for a single event's body (`{"event":{…,"date_time":"…Z",…}}`); nil for anything else.
    let eventStart: Date?

    init(_ bytes: ByteBuffer) {
        self.bytes = bytes
        (slots, eventStart) = bytes.withUnsafeReadableBytes { (AvailabilitySlots(scanning: $0), Self.eventStart(in: $0)) }
    }

    private static let eventOpening = Array(#"{"event":{"#.utf8)
    private static let dateKey = Array(#""date_time":""#.utf8)

    /// The first `"date_time"` of a body that is one event, as the server writes it (ISO 8601, whole seconds, UTC).
    static func eventStart(in body: UnsafeRawBufferPointer) -> Date? {
        guard body.starts(with: eventOpening), let key = firstIndex(of: dateKey, in: body) else { return nil }
        let from = key + dateKey.count
        guard from + 20 <= body.count else { return nil }
        return ISO8601Seconds.date(UnsafeRawBufferPointer(rebasing: body[from..<(from + 20)]))
    }

    private static func firstIndex(of pattern: [UInt8], in body: UnsafeRawBufferPointer) -> Int? {
        guard body.count >= pattern.count else { return nil }
        var offset = 0
        while offset <= body.count - pattern.count {
            if body[offset] == pattern[0], body[offset..<(offset + pattern.count)].elementsEqual(pattern) { return offset }
            offset += 1
        }
        return nil
    }

    /// What holding it costs, roughly: its bytes, the slots found in them and the dictionary entry's overhead.
    var weight: Int { bytes.readableBytes + (slots?.ids.count ?? 0) * 48 + 128 }
}

/// The server's two in-process caches and the one Redis feed that keeps both coherent: cached bodies by
/// Redis key (events, pages, the list generation) and tickets left by event id (``AvailabilityCache``).
///
/// Redis reports changed keys by name; a tickets-left key (`event:<id>:available`) drops the event's copy in
/// ``tickets``, a reopened key (`event:<id>:reopened`) its entry in ``soldOut``, every other key its copy in
/// ``bodies``. Live and reset apply to all three.
final class NearCaches: Sendable {
    let bodies: NearCache<String, CachedBody>
    let tickets: NearCache<UUID, Availability>
    /// Events the admission gate just found sold out, with the tickets still unclaimed: intake refuses from here
    /// for at most ``soldOutMemory``, and not once the gate may admit again (the event's reopened key,
    /// ``TicketsLeftKeys/gateReopened(_:)``, drops the entry at once: tickets given back, a claim released without a sale).
    /// A decision that sells what it claimed changes tickets left but not what the gate can admit: the memory stays.
    let soldOut: NearCache<UUID, Int>
    /// 250 ms: the longest intake refuses from the sold-out memory before asking the gate again, whatever was pushed.
    static let soldOutMemory = Duration.milliseconds(250)
    private let soldOutForgets: Bool
    private let keys: TicketsLeftKeys

    /// - Parameters:
    ///   - capacity: most copies each cache holds (`NEAR_CACHE_ENTRIES`).
    ///   - ttl: longest a copy is kept.
    ///   - byteBudget: most bytes of bodies held (`NEAR_CACHE_MB`); a body over `maximumBodyBytes`
    ///     (`NEAR_CACHE_MAX_ENTRY_KB`) is served from Redis and never held.
    ///   - soldOutForgets: false only for the `sold-out-memory-never-forgets` mutation (``HappeningConfig/Mutation``): the
    ///     sold-out memory then lasts an hour and ignores reopened keys.
    init(
        capacity: Int, ttl: Duration, byteBudget: Int = 256 << 20, maximumBodyBytes: Int = 256 << 10, keys: TicketsLeftKeys,
        soldOutForgets: Bool = true
    ) {
        bodies = NearCache(
            capacity: capacity, ttl: ttl, weigh: { $0.weight }, byteBudget: byteBudget, maximumEntryWeight: maximumBodyBytes)
        tickets = NearCache(capacity: capacity, ttl: ttl)
        soldOut = NearCache(
            capacity: min(capacity, 4_096), ttl: soldOutForgets ? min(ttl, Self.soldOutMemory) : .seconds(3_600),
            hitsMetric: "happening_admission_sold_out_memory_hits_total")
        self.soldOutForgets = soldOutForgets
        self.keys = keys
    }

    /// True while the invalidation listener is subscribed.
    var isLive: Bool { bodies.isLive && tickets.isLive }

    /// Copies held, bodies and tickets left together.
    var count: Int { bodies.count + tickets.count }

    /// This server changed `events`' tickets left (a cancellation, a released hold): its copies go at once, and so does
    /// its memory of finding them sold out (read your writes).
    func ticketsChanged(_ events: Set<UUID>) {
        tickets.remove(events)
        if soldOutForgets { soldOut.remove(events) }
    }

    /// Applies what the listener reports.
    func apply(_ event: RedisInvalidationListener.Event) {
        switch event {
        case .live:
            bodies.markLive()
            tickets.markLive()
            soldOut.markLive()
        case .invalidated(let changed):
            var events: [UUID] = []
            var reopened: [UUID] = []
            var others: [String] = []
            for key in changed {
                if let id = keys.availabilityEvent(inKey: key) {
                    events.append(id)
                } else if let id = keys.reopenedEvent(inKey: key) {
                    reopened.append(id)
                } else {
                    others.append(key)
                }
            }
            if !events.isEmpty { tickets.remove(events) }
            if !reopened.isEmpty, soldOutForgets { soldOut.remove(reopened) }
            if !others.isEmpty { bodies.remove(others) }
        case .reset:
            bodies.reset()
            tickets.reset()
            soldOut.reset()
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` (what `JSONEncoder`'s `.iso8601` writes) read without a formatter.
enum ISO8601Seconds {
    static func date(_ text: UnsafeRawBufferPointer) -> Date? {
        guard text.count == 20, text[4] == UInt8(ascii: "-"), text[7] == UInt8(ascii: "-"), text[10] == UInt8(ascii: "T"),
            text[13] == UInt8(ascii: ":"), text[16] == UInt8(ascii: ":"), text[19] == UInt8(ascii: "Z")
        else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            var value = 0
            for index in from..<(from + count) {
                let digit = Int(text[index]) - 48
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
            let minute = number(14, 2), let second = number(17, 2), (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60,
            second < 61
        else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm), then seconds.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + hour * 3_600 + minute * 60 + second))
    }
}

/// The sold-out memory the admission gate refuses from in process is a near cache (``NearCaches/soldOut``).
extension NearCache: SoldOutMemory where Key == UUID, Value == Int {}
