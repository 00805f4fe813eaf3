import Foundation

/// The latitude/longitude box that encloses a circle on the earth: the index-friendly first cut of a near-me
/// search. Events whose `point(longitude, latitude)` lies in the box are candidates (the GiST index
/// `events_location_gist_idx` finds them); `earth_distance` then keeps those really within the radius.
///
/// The box is a little generous by construction (it encloses the circle), never too small: near the poles,
/// or when it would cross the antimeridian, it widens to every longitude.
public struct GeoBoundingBox: Sendable, Equatable {
    public var minLatitude: Double
    public var maxLatitude: Double
    public var minLongitude: Double
    public var maxLongitude: Double

    /// The mean earth radius earthdistance uses (`earth()`), in metres.
    public static let earthRadiusMeters = 6_378_168.0

    /// The box around (`latitude`, `longitude`) enclosing every point within `radiusMeters`.
    public init(latitude: Double, longitude: Double, radiusMeters: Double) {
        let angular = radiusMeters / Self.earthRadiusMeters * 180 / .pi  // degrees of arc
        minLatitude = max(-90, latitude - angular)
        maxLatitude = min(90, latitude + angular)
        let widestLatitude = max(abs(minLatitude), abs(maxLatitude))
        if widestLatitude >= 89.9 {
            (minLongitude, maxLongitude) = (-180, 180)
        } else {
            // 1 % margin for the difference between the great circle and the parallel.
            let span = min(180, angular / cos(widestLatitude * .pi / 180) * 1.01)
            if longitude - span < -180 || longitude + span > 180 {
                (minLongitude, maxLongitude) = (-180, 180)
            } else {
                (minLongitude, maxLongitude) = (longitude - span, longitude + span)
            }
        }
        minLatitude = max(-90, minLatitude - angular * 0.01)
        maxLatitude = min(90, maxLatitude + angular * 0.01)
    }

    /// The SQL predicate for the box, with the four corners as parameters `$first` … `$first+3`
    /// (min longitude, min latitude, max longitude, max latitude), on the events alias `table`.
    public static func predicate(table: String, firstParameter first: Int) -> String {
        "point(\(table).longitude::float8, \(table).latitude::float8) <@ box(point($\(first)::float8, $\(first + 1)::float8), point($\(first + 2)::float8, $\(first + 3)::float8))"
    }

    /// The parameter values for ``predicate(table:firstParameter:)``, in order.
    public var parameters: [Double] { [minLongitude, minLatitude, maxLongitude, maxLatitude] }
}
