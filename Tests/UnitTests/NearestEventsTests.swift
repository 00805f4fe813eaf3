import Foundation
import HappeningGeo
import Testing

@testable import Server

@Suite("Near-me candidates: when the nearest-first walk read enough", .timeLimit(.minutes(10)))
struct NearestEventsTests {
    private func nearest(page: Int = 1) throws -> NearestEvents {
        let search = try EventSearch(["lat": "19.076", "lng": "72.8777", "radius_km": "25", "sort": "distance", "page": String(page)], gazetteer: Gazetteer())
        return NearestEvents(search: search, near: try #require(search.near))
    }

    @Test("fewer candidates than asked means the walk saw every event: exact")
    func exhausted() throws {
        #expect(try nearest().isExact(asked: 100, read: 40, reach: 0.001, pageDistances: Array(repeating: 50, count: 21)))
    }

    @Test("a full page is exact only when an event left out must be farther than its last event")
    func fullPage() throws {
        let search = try nearest()
        // 0.01° of longitude-or-latitude at 19° N is at least R·cos(19.2°)·0.01° ≈ 1,051 m away.
        let page = Array(repeating: 500.0, count: 20) + [1_000]
        #expect(search.isExact(asked: 100, read: 100, reach: 0.01, pageDistances: page))
        let farther = Array(repeating: 500.0, count: 20) + [1_100]
        #expect(!search.isExact(asked: 100, read: 100, reach: 0.01, pageDistances: farther), "an event left out could be at 1,051 m")
    }

    @Test("a page that is not full must rule out every event within the radius")
    func partialPage() throws {
        let search = try nearest()
        #expect(!search.isExact(asked: 100, read: 100, reach: 0.1, pageDistances: [1_000, 2_000]), "0.1° is ~10.5 km, inside 25 km")
        #expect(search.isExact(asked: 100, read: 100, reach: 0.3, pageDistances: [1_000, 2_000]), "0.3° is ~31.5 km, beyond 25 km")
    }

    @Test("deeper pages ask for more candidates")
    func candidates() throws {
        #expect(try nearest().firstCandidates == 100)
        #expect(try nearest(page: 5).needed == 101 && nearest(page: 5).firstCandidates == 404)
    }
}
