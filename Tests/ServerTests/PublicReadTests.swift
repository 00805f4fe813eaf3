import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import TestSupport
import Testing

@testable import Server

@Suite("Public reads and the cache", .timeLimit(.minutes(10)))
struct PublicReadTests {
    private func approvedEvent(_ client: some TestClientProtocol, admin: String, city: String = "Bhopal", title: String? = nil) async throws -> String {
        let token = try await Fixtures.adminToken(client, email: admin)
        let body = title.map { eventJSON(title: $0, city: city) } ?? eventJSON(city: city)
        let response = try await client.send(.post, "/api/events", json: body, token: token)
        return try #require(try response.json()["event"] as? [String: Any])["id"] as! String
    }

    @Test("an event read is MISS, then HIT, then fresh again after an edit")
    func eventCache() async throws {
        let admin = uniqueEmail("admin").lowercased()
        try await withServer(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1"]) { client in
            let id = try await approvedEvent(client, admin: admin)
            let first = try await client.send(.get, "/api/events/\(id)")
            #expect(first.status == .ok)
            #expect(first.headers[.init("X-Cache")!] == "MISS")
            #expect(try await client.send(.get, "/api/events/\(id)").headers[.init("X-Cache")!] == "HIT")
            let token = try await Fixtures.adminToken(client, email: admin)
            #expect(try await client.send(.put, "/api/events/\(id)", json: #"{"description":"now with details"}"#, token: token).status == .ok)
            let after = try await client.send(.get, "/api/events/\(id)")
            #expect(after.headers[.init("X-Cache")!] == "MISS")
            #expect((try after.json()["event"] as? [String: Any])?["description"] as? String == "now with details")
        }
    }

    @Test("lists are cached per generation: MISS, HIT, then MISS after any event change")
    func listCache() async throws {
        let admin = uniqueEmail("admin").lowercased()
        try await withServer(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1"]) { client in
            _ = try await approvedEvent(client, admin: admin)
            let first = try await client.send(.get, "/api/events/public/upcoming?limit=5")
            #expect(first.headers[.init("X-Cache")!] == "MISS")
            let page = try #require(try first.json()["pagination"] as? [String: Any])
            #expect(page["limit"] as? Int == 5 && page["page"] as? Int == 1)
            #expect(try await client.send(.get, "/api/events/public/upcoming?limit=5").headers[.init("X-Cache")!] == "HIT")
            _ = try await approvedEvent(client, admin: admin)
            #expect(try await client.send(.get, "/api/events/public/upcoming?limit=5").headers[.init("X-Cache")!] == "MISS")
            #expect(try await client.send(.get, "/api/events/public/upcoming?limit=101").status == .badRequest)
            #expect(try await client.send(.get, "/api/events/public/upcoming?page=0").status == .badRequest)
        }
    }

    @Test("shuffled and junk parameters hit the same search key; CACHE=off bypasses")
    func canonicalSearchKey() async throws {
        let admin = uniqueEmail("admin").lowercased()
        try await withServer(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1"]) { client in
            _ = try await approvedEvent(client, admin: admin)
            let a = try await client.send(.get, "/api/events/public/search?category=music&min_price=100&city=Bhopal&sort=distance")
            #expect(a.status == .ok)
            #expect(a.headers[.init("X-Cache")!] == "MISS")
            let b = try await client.send(.get, "/api/events/public/search?sort=DISTANCE&utm_source=x&city=bhopal&min_price=100.00&category=Music&junk=1")
            #expect(b.headers[.init("X-Cache")!] == "HIT")
        }
        try await withServer(["CACHE": "off"]) { client in
            let bypass = try await client.send(.get, "/api/events/public/upcoming")
            #expect(bypass.headers[.init("X-Cache")!] == "BYPASS")
        }
    }

    @Test("near-me search uses coordinates or a city, sorted by distance; far events stay out")
    func nearMe() async throws {
        let admin = uniqueEmail("admin").lowercased()
        try await withServer(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1"]) { client in
            let tag = "near\(TestEnvironment.uniqueSuffix())"
            let bhopal = try await approvedEvent(client, admin: admin, city: "Bhopal", title: "\(tag) Bhopal")
            let mumbai = try await approvedEvent(client, admin: admin, city: "Mumbai", title: "\(tag) Mumbai")
            let response = try await client.send(.get, "/api/events/public/search?query=\(tag)&lat=23.26&lng=77.41&radius_km=50&sort=distance")
            let ids = try #require(try response.json()["events"] as? [[String: Any]]).map { $0["id"] as? String }
            #expect(ids == [bhopal])
            let wide = try await client.send(.get, "/api/events/public/search?query=\(tag)&city=Bhopal&radius_km=500&sort=distance")
            let wideIDs = try #require(try wide.json()["events"] as? [[String: Any]]).map { $0["id"] as? String }
            #expect(wideIDs == [bhopal], "Mumbai is ~660 km from Bhopal")
            let all = try await client.send(.get, "/api/events/public/search?query=\(tag)&sort=price")
            #expect(Set(try #require(try all.json()["events"] as? [[String: Any]]).compactMap { $0["id"] as? String }) == [bhopal, mumbai])
            for bad in [
                "lat=91&lng=0", "lat=1", "radius_km=0&lat=1&lng=1", "sort=distance", "date=someday", "min_price=-1", "city=Atlantis", "category=opera",
                "min_price=500&max_price=100", "page=abc",
            ] {
                let rejected = try await client.send(.get, "/api/events/public/search?\(bad)")
                #expect(rejected.status == .badRequest, "\(bad) gave \(rejected.status)")
            }
            for date in ["today", "tomorrow", "weekend", "week", "2030-01-31"] {
                #expect(try await client.send(.get, "/api/events/public/search?date=\(date)").status == .ok)
            }
        }
    }

    @Test("pagination.next continues a list from where it stopped (keyset), by date and by price; a bad cursor is a 400")
    func cursors() async throws {
        let admin = uniqueEmail("admin").lowercased()
        try await withServer(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1"]) { client in
            let tag = "cursor\(TestEnvironment.uniqueSuffix())"
            let token = try await Fixtures.adminToken(client, email: admin)
            var created: [String] = []
            for (days, price) in [(12, "300.00"), (10, "100.00"), (11, "200.00")] {
                let response = try await client.send(
                    .post, "/api/events", json: eventJSON(title: "\(tag) \(days)", price: price, daysAhead: days), token: token)
                created.append(try #require(try response.json()["event"] as? [String: Any])["id"] as! String)
            }
            for (sort, expected) in [("date", [created[1], created[2], created[0]]), ("price", [created[1], created[2], created[0]])] {
                var seen: [String] = []
                var path = "/api/events/public/search?query=\(tag)&sort=\(sort)&limit=1"
                while true {
                    let page = try await client.send(.get, path).json()
                    seen += (page["events"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                    let pagination = try #require(page["pagination"] as? [String: Any])
                    guard let next = pagination["next"] as? String else {
                        #expect(pagination["has_more"] as? Bool == false)
                        break
                    }
                    #expect(seen.count < 5, "the cursor does not advance")
                    path = "/api/events/public/search?query=\(tag)&sort=\(sort)&limit=1&cursor=\(next)"
                }
                #expect(seen == expected, "sort=\(sort)")
            }
            let first = try await client.send(.get, "/api/events/public/upcoming?limit=1").json()
            let next = try #require((first["pagination"] as? [String: Any])?["next"] as? String)
            #expect(try await client.send(.get, "/api/events/public/upcoming?limit=1&cursor=\(next)").status == .ok)
            #expect(try await client.send(.get, "/api/events/public/category/music?limit=1&cursor=\(next)").status == .ok)
            for bad in ["cursor=junk", "cursor=p1_\(next)x", "sort=price&cursor=\(next)", "city=Pune&sort=distance&cursor=\(next)"] {
                let rejected = try await client.send(.get, "/api/events/public/search?\(bad)")
                #expect(rejected.status == .badRequest, "\(bad) gave \(rejected.status)")
                #expect(try rejected.json()["code"] as? String == "validation_failed" || rejected.status == .badRequest)
            }
            #expect(try await client.send(.get, "/api/events/public/upcoming?cursor=junk").status == .badRequest)
        }
    }

    @Test("50 concurrent misses on one key run one database query (stampede guard)")
    func stampede() async throws {
        try await withServerAndDependencies { client, deps in
            let before = deps.cache.loads
            try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await client.send(.get, "/api/events/public/upcoming?limit=7").headers[.init("X-Cache")!] }
                }
                var outcomes: [String?] = []
                for try await outcome in group { outcomes.append(outcome) }
                #expect(outcomes.allSatisfy { $0 == "MISS" || $0 == "HIT" })
                // Several requests missed at the same time (so without the guard each would have queried).
                #expect(outcomes.filter { $0 == "MISS" }.count > 1, "the requests did not overlap: \(outcomes)")
            }
            #expect(deps.cache.loads - before == 1, "concurrent misses should share one query")
        }
    }

    @Test("a load's body is handed on only at the version its lookup read, while it is stored or to lookups sent before it landed")
    func recentLoads() async throws {
        let recent = RecentLoads()
        let before = ContinuousClock.now
        let id = recent.storing("event:a", version: "7", body: [1])
        #expect(recent.body("event:a", version: "7", lookedUpAt: .now) == [1], "being stored: any lookup that missed it")
        #expect(recent.body("event:a", version: "8", lookedUpAt: before) == nil, "another version: never")
        #expect(recent.body("event:b", version: "7", lookedUpAt: before) == nil)
        try await Task.sleep(for: .milliseconds(2))
        let sentBeforeLanding = ContinuousClock.now
        try await Task.sleep(for: .milliseconds(2))
        recent.stored("event:a", id: id)
        try await Task.sleep(for: .milliseconds(2))
        #expect(recent.body("event:a", version: "7", lookedUpAt: sentBeforeLanding) == [1], "a lookup sent before the store landed")
        #expect(recent.body("event:a", version: "7", lookedUpAt: .now) == nil, "a lookup sent after it would have found the entry")
        let refused = recent.storing("list:g1:x", version: nil, body: [2])
        #expect(recent.body("list:g1:x", version: nil, lookedUpAt: before) == [2])
        recent.dropped("list:g1:x", id: refused)
        #expect(recent.body("list:g1:x", version: nil, lookedUpAt: before) == nil, "a refused or failed store is not handed on")
        // A newer load of the key replaces the older; the older's end changes nothing.
        let older = recent.storing("event:c", version: "1", body: [3])
        _ = recent.storing("event:c", version: "2", body: [4])
        recent.dropped("event:c", id: older)
        #expect(recent.body("event:c", version: "2", lookedUpAt: before) == [4])
        // Past 1,024 entries, those stored more than a second ago go; those still being stored stay.
        for key in 0..<1_100 { recent.stored("k\(key)", id: recent.storing("k\(key)", version: nil, body: [5])) }
        try await Task.sleep(for: .milliseconds(1_100))
        _ = recent.storing("trigger", version: nil, body: [6])
        #expect(recent.body("k1", version: nil, lookedUpAt: before) == nil, "stored more than a second ago: pruned")
        #expect(recent.body("event:c", version: "2", lookedUpAt: before) == [4], "still being stored: kept")
    }

    @Test("a load that races a change never leaves a stale event entry behind")
    func staleStoreRace() async throws {
        try await withServerAndDependencies { _, deps in
            let id = UUID()
            let logger = Logger(label: "race-test")
            // The event changes while the miss is loading (after its lookup read the version).
            let (stale, first) = try await deps.cache.eventBytes(id, logger: logger) {
                await deps.cache.invalidate(event: id, logger: logger)
                return Array("stale".utf8)
            }
            #expect(first == .miss && stale == Array("stale".utf8))
            let (fresh, second) = try await deps.cache.eventBytes(id, logger: logger) { Array("fresh".utf8) }
            #expect(second == .miss, "the racing load must not have been stored")
            #expect(fresh == Array("fresh".utf8))
            let (cached, third) = try await deps.cache.eventBytes(id, logger: logger) { Array("unused".utf8) }
            #expect(third == .hit && cached == Array("fresh".utf8))
        }
    }

    @Test("with Redis unreachable, public reads are still served from PostgreSQL")
    func redisDown() async throws {
        try await withServer(["REDIS_URL": "redis://127.0.0.1:1"]) { client in
            let upcoming = try await client.send(.get, "/api/events/public/upcoming")
            #expect(upcoming.status == .ok)
            #expect(upcoming.headers[.init("X-Cache")!] == "MISS")
            #expect(try await client.send(.get, "/api/events/public/search?city=Pune").status == .ok)
            #expect(try await client.send(.get, "/api/events/\(UUID())").status == .notFound)
        }
    }

    @Test("categories, by category, bad ids and autocomplete")
    func misc() async throws {
        try await withServer { client in
            let categories = try await client.send(.get, "/api/events/public/categories")
            #expect((try categories.json()["categories"] as? [String])?.contains("music") == true)
            #expect(try await client.send(.get, "/api/events/public/category/sports").status == .ok)
            #expect(try await client.send(.get, "/api/events/public/category/opera").status == .badRequest)
            #expect(try await client.send(.get, "/api/events/not-a-uuid").status == .badRequest)
            #expect(try await client.send(.get, "/api/locations/autocomplete?q=bho").status == .unauthorized)
            let token = try await client.register(email: uniqueEmail())
            let suggestions = try await client.send(.get, "/api/locations/autocomplete?q=bho", token: token)
            let names = try #require(try suggestions.json()["suggestions"] as? [[String: Any]]).compactMap { $0["name"] as? String }
            #expect(names.first == "Bhopal, Madhya Pradesh")
        }
    }
}
