import EventAvailability
import Foundation
import HappeningModel
import HappeningRedis
import NIOCore
import Testing

@testable import Server

@Suite("The in-process caches: bodies by key, tickets left by event", .timeLimit(.minutes(10)))
struct NearCachesTests {
    @Test("a tickets-left key names its event; no other key does")
    func availabilityKeys() {
        let id = UUID()
        for prefix in ["", "test-7:"] {
            let keys = TicketsLeftKeys(prefix: prefix)
            #expect(keys.availabilityEvent(inKey: keys.availability(id)) == id)
            #expect(keys.availabilityEvent(inKey: keys.cache.event(id)) == nil)
            #expect(keys.availabilityEvent(inKey: keys.cache.eventVersion(id)) == nil)
            #expect(keys.availabilityEvent(inKey: keys.cache.generation) == nil)
        }
        #expect(
            TicketsLeftKeys(prefix: "a:").availabilityEvent(inKey: TicketsLeftKeys(prefix: "b:").availability(id)) == nil, "another prefix's key is not ours")
        #expect(TicketsLeftKeys().availabilityEvent(inKey: "event:not-a-uuid-but-thirty-six-chars!!:available") == nil)
    }

    @Test("Redis's report of a changed key drops the copy in the cache that holds it, and only there")
    func routing() throws {
        let keys = TicketsLeftKeys(prefix: "p:")
        let near = NearCaches(capacity: 100, ttl: .seconds(60), keys: keys)
        let (sold, other) = (UUID(), UUID())
        #expect(near.tickets.reserve(sold) == nil && near.bodies.reserve(keys.cache.event(sold)) == nil, "nothing is held before live")
        near.apply(.live)
        #expect(near.isLive)
        for id in [sold, other] {
            near.tickets.fill(try #require(near.tickets.reserve(id)), with: Availability(available: 5, version: 1))
            near.bodies.fill(try #require(near.bodies.reserve(keys.cache.event(id))), with: CachedBody(ByteBuffer(string: "{}")))
        }
        near.apply(.invalidated([keys.availability(sold)]))
        #expect(near.tickets.get(sold) == nil, "the sold event's tickets left are dropped")
        #expect(near.tickets.get(other) == Availability(available: 5, version: 1))
        #expect(near.bodies.get(keys.cache.event(sold)) != nil, "a booking leaves the event's body cached")

        near.apply(.invalidated([keys.cache.event(other)]))
        #expect(near.bodies.get(keys.cache.event(other)) == nil && near.tickets.get(other) != nil)
        #expect(near.tickets.get([sold, other]).keys.sorted { $0.uuidString < $1.uuidString } == [other])

        near.apply(.reset)
        #expect(!near.isLive && near.count == 0 && near.tickets.get(other) == nil)
    }

    @Test("attack: many distinct large pages cannot fill the process: bodies are held within a byte budget, huge ones never")
    func byteBudget() throws {
        let keys = TicketsLeftKeys()
        let near = NearCaches(capacity: 50_000, ttl: .seconds(60), byteBudget: 100_000, maximumBodyBytes: 20_000, keys: keys)
        near.apply(.live)
        let page = CachedBody(ByteBuffer(repeating: 0x20, count: 10_000))
        for index in 0..<1_000 {
            let key = "search:q=\(index)"
            near.bodies.fill(try #require(near.bodies.reserve(key)), with: page)
            #expect(near.bodies.weight <= 100_000, "after \(index + 1) pages: \(near.bodies.weight) bytes held")
        }
        #expect(near.bodies.count > 0, "recent pages are still held")
        let huge = CachedBody(ByteBuffer(repeating: 0x20, count: 30_000))
        near.bodies.fill(try #require(near.bodies.reserve("search:huge")), with: huge)
        #expect(near.bodies.get("search:huge") == nil, "a body over the entry limit is served from Redis, not held")
        near.bodies.remove(near.bodies.count > 0 ? (0..<1_000).map { "search:q=\($0)" } : [])
        #expect(near.bodies.weight == 0 && near.bodies.count == 0, "weight follows removals")
    }

    @Test("a body's tickets left are found once; an answer with all values unchanged needs no new body")
    func unchangedValues() throws {
        let (a, b) = (UUID(), UUID())
        let body = #"{"events":[{"available_tickets":3,"id":"\#(a.lowercasedText)"},{"available_tickets":0,"id":"\#(b.lowercasedText)"}]}"#
        let cached = CachedBody(ByteBuffer(string: body))
        let slots = try #require(cached.slots)
        #expect(slots.ids == [a, b])
        #expect(!slots.differs(from: [a: 3, b: 0]))
        #expect(!slots.differs(from: [a: 3]), "an event without a value keeps its own")
        #expect(slots.differs(from: [a: 3, b: 1]))
        #expect(CachedBody(ByteBuffer(string: "17")).slots?.ids == [], "the list generation holds no event")
    }
}
