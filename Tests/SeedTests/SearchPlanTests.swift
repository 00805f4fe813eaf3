import EventAvailability
import Foundation
import HappeningGeo
import HappeningPostgres
import TestSupport
import Testing

@testable import Seed
@testable import Server

/// The search queries' plans on 100,000 seeded events, so a later change cannot silently lose an index
/// (issue "Reads stay fast through a flash sale, and search stays fast at 1,000,000 events").
@Suite("Search plans on 100,000 seeded events", .serialized, .timeLimit(.minutes(10)))
struct SearchPlanTests {
    /// A plan node: its type, the index it reads, and whether the index hands rows over in distance order.
    struct Node {
        var type: String
        var index: String?
        var ordered: Bool
    }

    private static func nodes(_ plan: Any) -> [Node] {
        guard let object = plan as? [String: Any] else { return [] }
        var found = [Node(type: object["Node Type"] as? String ?? "?", index: object["Index Name"] as? String, ordered: object["Order By"] != nil)]
        for child in object["Plans"] as? [Any] ?? [] { found += nodes(child) }
        return found
    }

    private static func explain(_ postgres: PostgresClient, _ query: (String, PostgresBindings)) async throws -> [Node] {
        let rows = try await postgres.query("EXPLAIN (FORMAT JSON) " + query.0, query.1)
        let text = try rows[0].decode(0, as: String.self)
        let top = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        return nodes(top[0]["Plan"] as Any)
    }

    /// The plan the server's prepared statement runs with: prepared on one connection, run six times (PostgreSQL
    /// plans the first five for their values, then keeps a generic plan if that costs no more), then explained.
    private static func explainPrepared(_ postgres: PostgresClient, _ query: (String, PostgresBindings)) async throws -> [Node] {
        let values = query.1.map { value in value.map { "'" + $0.postgresText.replacingOccurrences(of: "'", with: "''") + "'" } ?? "NULL" }
        let execute = "EXECUTE plan_check" + (values.isEmpty ? "" : "(" + values.joined(separator: ", ") + ")")
        return try await postgres.withTransaction { connection in
            try await connection.query("PREPARE plan_check AS " + query.0)
            for _ in 0..<6 { _ = try await connection.query(execute) }
            let rows = try await connection.query("EXPLAIN (FORMAT JSON) " + execute)
            try await connection.query("DEALLOCATE plan_check")
            let text = try rows[0].decode(0, as: String.self)
            let top = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
            return nodes(top[0]["Plan"] as Any)
        }
    }

    /// The plan explained with its values, and the plan its prepared statement keeps: both must pass `check`.
    private static func plans(_ postgres: PostgresClient, _ query: (String, PostgresBindings)) async throws -> [(String, [Node])] {
        [("values", try await explain(postgres, query)), ("prepared", try await explainPrepared(postgres, query))]
    }

    private static func search(_ query: [String: String]) throws -> EventSearch { try EventSearch(query, gazetteer: Gazetteer()) }

    @Test(
        "near-me is nearest-first from the GiST index, text search uses the homepage or the trigram indexes, lists the homepage index, planned for their values and as the prepared statements the server keeps; answers match brute force"
    )
    func plans() async throws {
        try await TestEnvironment.withScratchDatabase(prefix: "plans") { url in
            var request = try seedRequest(url, users: 500, events: 100_000, anchor: SeedPlan.format(day: Int(Date().timeIntervalSince1970 / 86_400)))
            request.batchSize = 5_000
            _ = try await runSeeder(request)
            let postgres = PostgresClient(configuration: .init(url: url, poolSize: 2))
            do {
                try await check(postgres)
            } catch {
                await postgres.shutdown()
                throw error
            }
            await postgres.shutdown()
        }
    }

    private func check(_ postgres: PostgresClient) async throws {
        try await postgres.query("ANALYZE events")
        let repository = EventRepository(postgres: postgres, ticketsLeft: TicketsLeft(postgres: postgres, notifier: .disabled))

        // Near-me, dense city: an index scan of the GiST index ordered by <-> (k-nearest-neighbour), no full box read.
        let nearMe = try Self.search(["city": "Mumbai", "sort": "distance", "radius_km": "25"])
        for (how, knn) in try await Self.plans(postgres, NearestEvents(search: nearMe, near: nearMe.near!).sql(candidates: 100)) {
            #expect(knn.contains { $0.index == "events_location_gist_idx" && $0.ordered }, "\(how): no index-ordered GiST scan: \(knn)")
            #expect(!knn.contains { $0.type == "Bitmap Index Scan" }, "\(how): the box was read whole: \(knn)")
        }
        // The same pages as measuring every event in the box and sorting (the plan before).
        for page in ["1", "3"] {
            let query = ["city": "Mumbai", "sort": "distance", "radius_km": "25", "page": page]
            let fast = try await repository.search(try Self.search(query)).map(\.id)
            let (sql, bindings) = try Self.search(query).sql()
            let slow = try await postgres.query(sql, bindings).map { try EventRecord(row: $0).id }
            #expect(fast == slow && fast.count == 21, "page \(page): \(fast.count) vs \(slow.count) events")
        }

        // Text, a common word: the earliest upcoming events through the homepage index.
        let common = try Self.search(["query": "jazz"])
        for (how, walk) in try await Self.plans(postgres, TextSearchPlan.earliestSQL(common, text: "jazz", window: TextSearchPlan.window(for: common))) {
            #expect(walk.contains { $0.index == "events_homepage_idx" }, "\(how): \(walk)")
        }
        // A rare word: the trigram indexes.
        let rare = try Self.search(["query": "qawwali reloaded"])
        for (how, trigram) in try await Self.plans(postgres, TextSearchPlan.trigramSQL(rare)) {
            #expect(
                trigram.contains { $0.index == "events_title_trgm_idx" } && trigram.contains { $0.index == "events_description_trgm_idx" }, "\(how): \(trigram)"
            )
        }
        for words in ["jazz", "qawwali reloaded", "zzq"] {
            let query = ["query": words]
            let fast = try await repository.search(try Self.search(query)).map(\.id)
            let (sql, bindings) = try Self.search(query).sql()
            let slow = try await postgres.query(sql, bindings).map { try EventRecord(row: $0).id }
            #expect(fast == slow, "\(words): \(fast.count) vs \(slow.count) events")
        }

        // Lists: the homepage index, in its order (no sort of all upcoming events).
        // A city's list reads the city's box from the location index instead.
        let lists: [([String: String], String)] = [
            (["category": "music", "date": "week"], "events_homepage_idx"), ([:], "events_homepage_idx"), (["page": "3"], "events_homepage_idx"),
            (["date": "today"], "events_homepage_idx"), (["city": "Pune"], "events_location_gist_idx"),
        ]
        for (filters, index) in lists {
            for (how, list) in try await Self.plans(postgres, try Self.search(filters).sql()) {
                #expect(list.contains { $0.index == index }, "\(filters), \(how): \(list)")
            }
        }
        // A deep page by cursor starts the homepage index at the cursor: the same events as the OFFSET page.
        let offsetPage = try Self.search(["page": "500"])
        let (offsetSQL, offsetBindings) = offsetPage.sql()
        let byOffset = try await postgres.query(offsetSQL, offsetBindings).map { try EventRecord(row: $0) }
        let before = try Self.search(["page": "499"])
        let (beforeSQL, beforeBindings) = before.sql()
        let last = try #require(try await postgres.query(beforeSQL, beforeBindings).map { try EventRecord(row: $0) }.prefix(20).last)
        let cursor = try #require(PageCursor(after: last, order: .date))
        let deep = try Self.search(["cursor": cursor.text])
        let (deepSQL, deepBindings) = deep.sql()
        #expect(try await postgres.query(deepSQL, deepBindings).map { try EventRecord(row: $0).id } == byOffset.map(\.id))
        for (how, deepPlan) in try await Self.plans(postgres, deep.sql()) {
            #expect(deepPlan.contains { $0.index == "events_homepage_idx" }, "\(how): \(deepPlan)")
        }
    }
}
