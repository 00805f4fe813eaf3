import Foundation
import HappeningRedis
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import Server

@Suite("In-process copies of cache entries (near cache)", .timeLimit(.minutes(10)))
struct NearCacheTests {
    @Test("a reservation is refused once its key changed; a reset drops everything and stops serving until live")
    func reservationRules() {
        let near = NearCache<String, ByteBuffer>(capacity: 100, ttl: .seconds(60))
        #expect(near.reserve("k") == nil, "nothing is held before the listener is live")
        near.apply(.live)
        let raced = try! #require(near.reserve("k"))
        near.apply(.invalidated(["k"]))
        near.fill(raced, with: ByteBuffer(string: "stale"))
        #expect(near.get("k") == nil, "a change between reservation and fill keeps the stale value out")

        let fine = try! #require(near.reserve("k"))
        near.fill(fine, with: ByteBuffer(string: "fresh"))
        #expect(near.get("k") == ByteBuffer(string: "fresh"))
        near.remove(["k"])
        #expect(near.get("k") == nil)

        let beforeReset = try! #require(near.reserve("k"))
        near.apply(.reset)
        near.fill(beforeReset, with: ByteBuffer(string: "x"))
        #expect(near.get("k") == nil && !near.isLive && near.reserve("k") == nil)
    }

    @Test("copies expire after their TTL and the capacity is kept")
    func expiryAndCapacity() async throws {
        // A TTL long enough that a stalled machine still reads the copy right after filling it.
        let ttl = Duration.seconds(3)
        let near = NearCache<String, ByteBuffer>(capacity: 10, ttl: ttl)
        near.apply(.live)
        let filled = ContinuousClock.now
        for i in 0..<25 {
            let reservation = try #require(near.reserve("k\(i)"))
            near.fill(reservation, with: ByteBuffer(string: "\(i)"))
            #expect(near.count <= 10)
        }
        #expect(near.get("k24") == ByteBuffer(string: "24"))
        try await eventually("the copy to expire") { near.get("k24") == nil }
        #expect(ContinuousClock.now - filled >= ttl, "gone before its TTL")
    }

    @Test("an edit made through another server reaches this server's in-process copy")
    func crossServerInvalidation() async throws {
        let admin = uniqueEmail("admin").lowercased()
        // Both servers share one cache namespace, as instances behind one load balancer would.
        let shared = ["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1", "CACHE_PREFIX": "test-near-\(TestEnvironment.uniqueSuffix()):"]
        try await withServerAndDependencies(shared) { reader, deps in
            let near = try #require(deps.near)
            try await eventually("the near cache's invalidation listener to be live") { near.isLive }
            try await withServer(shared) { writer in
                let token = try await Fixtures.adminToken(writer, email: admin)
                let created = try await writer.send(.post, "/api/events", json: eventJSON(city: "Pune"), token: token)
                let id = try #require(try created.json()["event"] as? [String: Any])["id"] as! String
                #expect(try await reader.send(.get, "/api/events/\(id)").headers[.init("X-Cache")!] == "MISS")
                #expect(try await reader.send(.get, "/api/events/\(id)").headers[.init("X-Cache")!] == "HIT")  // from Redis, copied
                #expect(near.count >= 1)

                #expect(try await writer.send(.put, "/api/events/\(id)", json: #"{"description":"changed elsewhere"}"#, token: token).status == .ok)
                // Redis pushes the change to the reader's listener; the reader must not keep serving its copy.
                try await eventually("the reader to serve the edit made elsewhere (not its stale copy)", every: .milliseconds(10)) {
                    ((try await reader.send(.get, "/api/events/\(id)").json())["event"] as? [String: Any])?["description"] as? String
                } until: {
                    $0 == "changed elsewhere"
                }
            }
        }
    }

    @Test("NEAR_CACHE_ENTRIES=0 turns the copies off and reads still hit Redis")
    func turnedOff() async throws {
        try await withServerAndDependencies(["NEAR_CACHE_ENTRIES": "0"]) { client, deps in
            #expect(deps.near == nil && deps.invalidations == nil)
            _ = try await client.send(.get, "/api/events/public/upcoming?limit=3")
            #expect(try await client.send(.get, "/api/events/public/upcoming?limit=3").headers[.init("X-Cache")!] == "HIT")
        }
    }
}
