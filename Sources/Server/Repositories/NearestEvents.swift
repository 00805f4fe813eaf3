import Foundation
import HappeningGeo
import HappeningPostgres

/// Near-me search sorted by distance, from the GiST index in nearest-first order.
///
/// PostgreSQL walks `events_location_gist_idx` with `<->` (k-nearest-neighbour: it reads points in order of
/// their distance in degrees, filters applied as it goes) and stops after `candidates` events; only those are
/// measured with the exact `earth_distance`, cut at the radius, sorted, and paged. Degrees are not metres (a
/// degree of longitude shrinks with latitude), so the candidates are checked. An event left out is either
/// outside the radius's bounding box (so beyond the radius) or inside it and at least `reach` degrees away,
/// which on the earth is at least `R · cos(φ) · reach` for the box's most poleward latitude φ. When that bound
/// is beyond the page's farthest event (or beyond the radius, for a page that is not full), no event left out
/// could belong on the page, and the answer is exact; otherwise the search runs again with four times the
/// candidates.
struct NearestEvents {
    let search: EventSearch
    let near: (latitude: Double, longitude: Double, radiusKm: Double)

    /// Events a page needs (all earlier pages, the page and its look-ahead row).
    var needed: Int { search.page.offset + search.page.limit + 1 }
    /// The first try: four times what the page needs (degrees against metres cost ~1/cos(φ) more at most).
    var firstCandidates: Int { max(100, needed * 4) }
    /// The most candidates read: a page is answered from them even when the check could not prove it exact
    /// (only a box holding more events than this, within the radius, gets there).
    static let maximumCandidates = 200_000

    /// The query: the page's rows (``EventRecord/columns`` then `distance_m`), then the candidates read and the
    /// farthest candidate's distance in degrees on every row; one row of NULLs and the two figures when the
    /// page is empty.
    func sql(candidates: Int) -> (String, PostgresBindings) {
        var (conditions, bindings) = search.conditions()
        func bind(_ value: any PostgresEncodable) -> String {
            bindings.append(value)
            return "$\(bindings.count)"
        }
        // No bounding box here: with one, PostgreSQL may prefer reading the whole box and sorting it (what this
        // replaces). The walk stops after `candidates` events anyway, and the radius cut follows. The page is cut
        // from the candidates before the rows are fetched: the join reads the page's events, not all candidates'.
        let origin = "point(\(bind(near.longitude))::float8, \(bind(near.latitude))::float8)"
        let earthOrigin = EarthDistanceSQL.point(latitude: "\(bind(near.latitude))::float8", longitude: "\(bind(near.longitude))::float8")
        let sql = """
            WITH candidates AS (
                SELECT e.id, e.date_time, point(e.longitude::float8, e.latitude::float8) <-> \(origin) AS degrees,
                       \(EarthDistanceSQL.distance(from: earthOrigin, toEventIn: "e")) AS distance_m
                FROM events e
                WHERE \(conditions.joined(separator: " AND "))
                ORDER BY point(e.longitude::float8, e.latitude::float8) <-> \(origin)
                LIMIT \(bind(candidates))),
            reach AS (SELECT count(*)::int AS read, max(degrees) AS degrees FROM candidates)
            SELECT page.*, reach.read, reach.degrees FROM reach LEFT JOIN LATERAL (
                SELECT \(EventRecord.columns), c.distance_m
                FROM (SELECT * FROM candidates WHERE distance_m <= \(bind(near.radiusKm * 1000))::float8
                      ORDER BY distance_m, date_time, id
                      LIMIT \(bind(search.page.limit + 1)) OFFSET \(bind(search.page.offset))) c
                JOIN events e ON e.id = c.id LEFT JOIN users u ON u.id = e.created_by
                ORDER BY c.distance_m, c.date_time, c.id) page ON true
            """
        return (sql, bindings)
    }

    /// True when no event outside the candidates can belong on the page (see the type's documentation).
    /// - Parameters:
    ///   - read: candidates the database read (fewer than asked: the box held no more).
    ///   - reach: the farthest candidate, in degrees.
    ///   - pageDistances: the page's distances in metres, look-ahead row included.
    func isExact(asked: Int, read: Int, reach: Double?, pageDistances: [Double]) -> Bool {
        if read < asked { return true }
        guard let reach else { return true }
        let box = GeoBoundingBox(latitude: near.latitude, longitude: near.longitude, radiusMeters: near.radiusKm * 1000)
        // 0.01° beyond the box: a great circle between two points bulges poleward (metres, at these sizes).
        let poleward = min(90, max(abs(box.minLatitude), abs(box.maxLatitude)) + 0.01)
        let nearestLeftOut = GeoBoundingBox.earthRadiusMeters * cos(poleward * .pi / 180) * reach * .pi / 180
        let needed = pageDistances.count == search.page.limit + 1 ? pageDistances.last! : near.radiusKm * 1000
        return nearestLeftOut >= needed
    }
}
