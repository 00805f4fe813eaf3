import EventAvailability
import Foundation
import HTTPTypes
import HappeningModel
import HappeningPostgres
import HappeningRedis
import Hummingbird
import HummingbirdTesting
import Logging
import TestSupport
import Testing

@testable import Server

/// Tickets left travel apart from the cached entries: a booking publishes one small key, and every server
/// writes the value into the entries it serves (issue "Reads stay fast through a flash sale").
@Suite("Tickets left merged into cached answers", .timeLimit(.minutes(10)))
struct AvailabilityMergeTests {
    private static let xCache = HTTPField.Name("X-Cache")!

    private func event(_ response: TestResponse) throws -> [String: Any]? { try response.json()["event"] as? [String: Any] }

    @Test("a booking's change reaches another server's cached event and search within moments, and retires neither")
    func bookingsRetireNothing() async throws {
        let admin = uniqueEmail("admin").lowercased()
        let prefix = "test-avail-\(TestEnvironment.uniqueSuffix()):"
        // Two servers sharing one cache namespace, as instances behind a load balancer.
        let shared = ["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1", "CACHE_PREFIX": prefix]
        let tag = "avail\(TestEnvironment.uniqueSuffix())"
        let postgres = PostgresClient(configuration: .init(url: TestEnvironment.databaseURL, poolSize: 2))
        let redis = RedisClient(configuration: try RedisConfiguration(url: TestEnvironment.redisURL))
        // What a worker does after its commit.
        let notifier = AvailabilityNotifier(store: AvailabilityStore(postgres: postgres, redis: redis, keys: TicketsLeftKeys(prefix: prefix)))
        try await withServerAndDependencies(shared) { reader, deps in
            let near = try #require(deps.near)
            try await eventually("the reader's invalidation listener to be live") { near.isLive }
            try await withServer(shared) { writer in
                let token = try await Fixtures.adminToken(writer, email: admin)
                let created = try await writer.send(.post, "/api/events", json: eventJSON(title: "\(tag) night", tickets: 10), token: token)
                let id = try #require(try event(created)?["id"] as? String)
                let search = "/api/events/public/search?query=\(tag)"
                for path in ["/api/events/\(id)", search] {
                    _ = try await reader.send(.get, path)
                    try await eventually("\(path) to be served from the cache") {
                        try await reader.send(.get, path).headers[Self.xCache]
                    } until: {
                        $0 == "HIT"
                    }
                }
                let generation = try await redis.getString(TicketsLeftKeys(prefix: prefix).cache.generation)

                // A booking of 4 decided elsewhere: the row changes, the worker publishes.
                try await postgres.query("UPDATE events SET available_tickets = available_tickets - 4 WHERE id = $1", [UUID(uuidString: id)!])
                await notifier.eventsChanged([UUID(uuidString: id)!], logger: Logger(label: "test"))

                let detail = try await eventually("the reader's cached event to show 6 tickets left", every: .milliseconds(10)) {
                    try await reader.send(.get, "/api/events/\(id)")
                } until: {
                    (try? event($0)?["available_tickets"] as? Int) == 6
                }
                #expect(detail.headers[Self.xCache] == "HIT", "the event's entry was retired instead of merged")
                let listed = try await eventually("the reader's cached search to show 6 tickets left", every: .milliseconds(10)) {
                    try await reader.send(.get, search)
                } until: { response in
                    ((try? response.json()["events"] as? [[String: Any]])?.first?["available_tickets"] as? Int) == 6
                }
                #expect(listed.headers[Self.xCache] == "HIT", "the search entry was retired instead of merged")
                #expect(try await redis.getString(TicketsLeftKeys(prefix: prefix).cache.generation) == generation, "a booking bumped the list generation")

                // A membership change (a new event) still reaches the other server's lists.
                let second = try await writer.send(.post, "/api/events", json: eventJSON(title: "\(tag) matinee", tickets: 5), token: token)
                let secondID = try #require(try event(second)?["id"] as? String)
                try await eventually("the reader's search to list the event created through the other server", every: .milliseconds(10)) {
                    Set(((try await reader.send(.get, search).json()["events"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String })
                } until: {
                    $0 == [id, secondID]
                }
            }
        }
        await redis.shutdown()
        await postgres.shutdown()
    }

    @Test("a miss is served with the tickets left its own query read; a hit gets them merged")
    func ownLoadIsCurrent() async throws {
        let admin = uniqueEmail("admin").lowercased()
        let prefix = "test-avail-own-\(TestEnvironment.uniqueSuffix()):"
        let keys = TicketsLeftKeys(prefix: prefix)
        let redis = RedisClient(configuration: try RedisConfiguration(url: TestEnvironment.redisURL))
        try await withServerAndDependencies(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1", "CACHE_PREFIX": prefix]) { client, _ in
            let token = try await Fixtures.adminToken(client, email: admin)
            let created = try await client.send(.post, "/api/events", json: eventJSON(title: "own load", tickets: 10), token: token)
            let id = try #require(try event(created)?["id"] as? String)
            let eventID = try #require(UUID(uuidString: id))
            // A published value that disagrees with the row (a newer version, fewer tickets): whoever merges shows it.
            try await redis.send(["DEL", RedisArgument(keys.cache.event(eventID))])
            try await redis.set(
                keys.availability(eventID), value: RedisArgument(Availability(available: 3, version: 999_999_999).encoded), expiresIn: .seconds(60))
            let miss = try await client.send(.get, "/api/events/\(id)")
            #expect(miss.headers[Self.xCache] == "MISS")
            #expect(try event(miss)?["available_tickets"] as? Int == 10, "the request's own load was merged with Redis's value")
            let hit = try await eventually("the stored entry to be served merged") {
                try await client.send(.get, "/api/events/\(id)")
            } until: {
                $0.headers[Self.xCache] == "HIT" && (try? event($0)?["available_tickets"] as? Int) == 3
            }
            #expect(try event(hit)?["available_tickets"] as? Int == 3)
        }
        await redis.shutdown()
    }

    @Test("a published value never replaces a newer one, whatever order publishers finish in")
    func newerVersionWins() async throws {
        let postgres = PostgresClient(configuration: .init(url: TestEnvironment.databaseURL, poolSize: 1))
        let redis = RedisClient(configuration: try RedisConfiguration(url: TestEnvironment.redisURL))
        let store = AvailabilityStore(postgres: postgres, redis: redis, keys: TicketsLeftKeys(prefix: "test-avail-order-\(TestEnvironment.uniqueSuffix()):"))
        let id = UUID()
        try await store.store([id: Availability(available: 3, version: 20)])
        try await store.store([id: Availability(available: 9, version: 19)])
        #expect(try await store.read([id])[id] == Availability(available: 3, version: 20))
        try await store.store([id: Availability(available: 2, version: 21)])
        #expect(try await store.read([id])[id] == Availability(available: 2, version: 21))
        #expect(try await redis.ttl(store.keys.availability(id)) > 0, "a published value must expire")
        await redis.shutdown()
        await postgres.shutdown()
    }

    @Test("the gate's reopened key moves when the gate can admit more (tickets back, a claim released unsold), not when a sale is decided")
    func reopenedOnlyWhenFreer() async throws {
        let postgres = PostgresClient(configuration: .init(url: TestEnvironment.databaseURL, poolSize: 1))
        let redis = RedisClient(configuration: try RedisConfiguration(url: TestEnvironment.redisURL))
        let keys = TicketsLeftKeys(prefix: "test-reopen-\(TestEnvironment.uniqueSuffix()):")
        let store = AvailabilityStore(postgres: postgres, redis: redis, keys: keys)
        let (event, sold, unsold) = (UUID(), UUID(), UUID())
        let reopened = { try await redis.getString(keys.gateReopened(event)) }
        // 10 left, two bookings admitted (one ticket each): the gate can admit 8 more.
        try await store.store([event: Availability(available: 10, version: 5)])
        let baseline = try await reopened()
        let claims = RedisArgument(keys.admissionClaims(event))
        _ = try await redis.send(["HSET", claims, RedisArgument(sold.lowercasedText), "1", RedisArgument(unsold.lowercasedText), "1", "total", "2"])
        // The first is sold: 9 left, its claim released — still 8.
        try await store.store([event: Availability(available: 9, version: 6)], releasing: [AdmissionClaim(event: event, booking: sold)])
        #expect(try await reopened() == baseline, "a decided sale does not reopen the gate")
        // The second is refused: its claim released, tickets left unchanged — 9 now.
        try await store.store([:], releasing: [AdmissionClaim(event: event, booking: unsold)])
        let afterRefusal = try await reopened()
        #expect(afterRefusal != baseline && afterRefusal != nil)
        // Tickets come back (a cancellation): 12 — reopened again; a sale (11) does not.
        try await store.store([event: Availability(available: 12, version: 7)])
        let afterReturn = try await reopened()
        #expect(afterReturn != afterRefusal)
        try await store.store([event: Availability(available: 11, version: 8)])
        #expect(try await reopened() == afterReturn)
        #expect(try await redis.ttl(keys.gateReopened(event)) > 0, "the reopened key expires")
        await redis.shutdown()
        await postgres.shutdown()
    }

    @Test("the database raises availability_version with every change of tickets left, and only then")
    func versionFollowsChanges() async throws {
        try await withServerAndDependencies { _, deps in
            let host = try await deps.postgres.query("SELECT id FROM users LIMIT 1").first.map { try $0.decode(0, as: UUID.self) }
            let id = try #require(
                try await deps.postgres.query(
                    """
                    INSERT INTO events (created_by, title, date_time, venue, total_tickets, available_tickets, price, category, approval_status)
                    VALUES ($1, 'versioned', now() + interval '5 days', 'Hall', 10, 10, 0, 'music', 'approved') RETURNING id
                    """, [host]
                ).first
            ).decode(0, as: UUID.self)
            let store = AvailabilityStore(postgres: deps.postgres, redis: nil)
            let first = try #require(try await store.load([id])[id])
            try await deps.postgres.query("UPDATE events SET title = 'renamed' WHERE id = $1", [id])
            #expect(try await store.load([id])[id] == first, "a change of anything else must not raise the version")
            try await deps.postgres.query("UPDATE events SET available_tickets = 9 WHERE id = $1", [id])
            let second = try #require(try await store.load([id])[id])
            #expect(second.available == 9 && second.version > first.version)
            try await deps.postgres.query("UPDATE events SET available_tickets = 8 WHERE id = $1", [id])
            #expect(try #require(try await store.load([id])[id]).version > second.version)
        }
    }
}
