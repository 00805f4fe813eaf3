/// SQL for `earthdistance`'s `earth_distance(ll_to_earth(…), ll_to_earth(…))`, written out in the C functions it
/// is made of.
///
/// `ll_to_earth`, `earth_distance` and `sec_to_gc` are SQL-language functions that PostgreSQL cannot inline
/// (they are STRICT over non-strict bodies), so each call on each row starts a small executor of its own:
/// profiled under the cache-off homepage mix, those calls were 12 % of the database's CPU. The same arithmetic in
/// `cube`'s C functions gives bit-identical distances (checked on 100,000 seeded events against the functions,
/// and by the search tests' brute-force comparison) at well under half the cost per row.
enum EarthDistanceSQL {
    /// `earth()`: the earth's radius in metres as `earthdistance` defines it.
    static let earthRadius = "6378168::float8"

    /// The cube of a point on the earth's surface: `ll_to_earth(latitude, longitude)` (float8 expressions).
    static func point(latitude: String, longitude: String) -> String {
        let (r, la, lo) = (earthRadius, "radians(\(latitude))", "radians(\(longitude))")
        return "cube(cube(cube(\(r) * cos(\(la)) * cos(\(lo))), \(r) * cos(\(la)) * sin(\(lo))), \(r) * sin(\(la)))"
    }

    /// The great-circle distance in metres between two earth cubes: `earth_distance(a, b)`, which is
    /// `sec_to_gc(cube_distance(a, b))`, the chord turned into an arc: `2R·asin(chord / 2R)`. `sec_to_gc`'s other
    /// two cases are a negative chord (a distance never is) and a chord beyond the diameter (rounding, at the
    /// antipode), which `least` caps instead: the chord is written once, so it is computed once per row.
    static func distance(_ a: String, _ b: String) -> String {
        let r = earthRadius
        return "(2 * \(r) * asin(least(cube_distance(\(a), \(b)) / (2 * \(r)), 1::float8)))"
    }

    /// The distance in metres from an origin cube to an event row's location (`<table>.latitude`, `.longitude`).
    static func distance(from origin: String, toEventIn table: String) -> String {
        distance(origin, point(latitude: "\(table).latitude::float8", longitude: "\(table).longitude::float8"))
    }
}
