import Foundation
import HappeningGeo
import Testing

private let radius = GeoBoundingBox.earthRadiusMeters

/// The point `meters` from (`latitude`, `longitude`) along `bearing` (degrees from north), on a sphere of
/// earthdistance's radius.
private func destination(latitude: Double, longitude: Double, meters: Double, bearing: Double) -> (latitude: Double, longitude: Double) {
    let phi1 = latitude * .pi / 180
    let lambda1 = longitude * .pi / 180
    let theta = bearing * .pi / 180
    let delta = meters / radius
    let phi2 = asin(sin(phi1) * cos(delta) + cos(phi1) * sin(delta) * cos(theta))
    let lambda2 = lambda1 + atan2(sin(theta) * sin(delta) * cos(phi1), cos(delta) - sin(phi1) * sin(phi2))
    var longitude2 = lambda2 * 180 / .pi
    if longitude2 > 180 { longitude2 -= 360 }
    if longitude2 < -180 { longitude2 += 360 }
    return (phi2 * 180 / .pi, longitude2)
}

/// Great-circle distance (haversine) on the same sphere.
private func distance(_ a: (Double, Double), _ b: (Double, Double)) -> Double {
    let phi1 = a.0 * .pi / 180
    let phi2 = b.0 * .pi / 180
    let deltaPhi = phi2 - phi1
    let deltaLambda = (b.1 - a.1) * .pi / 180
    let h = sin(deltaPhi / 2) * sin(deltaPhi / 2) + cos(phi1) * cos(phi2) * sin(deltaLambda / 2) * sin(deltaLambda / 2)
    return 2 * radius * asin(min(1, sqrt(h)))
}

private func contains(_ box: GeoBoundingBox, _ point: (latitude: Double, longitude: Double)) -> Bool {
    (box.minLatitude...box.maxLatitude).contains(point.latitude) && (box.minLongitude...box.maxLongitude).contains(point.longitude)
}

/// The near-me search's first cut: the latitude/longitude box around a circle encloses every point of the circle
/// (never too small), is not much larger, and widens to every longitude near the poles and across the antimeridian.
@Suite("Geo bounding box", .timeLimit(.minutes(10)))
struct GeoBoundingBoxTests {
    @Test("one degree of arc at the equator: ±1° plus the 1 % margins")
    func equatorDegree() {
        let oneDegree = radius * .pi / 180  // 111 320 m
        let box = GeoBoundingBox(latitude: 0, longitude: 0, radiusMeters: oneDegree)
        #expect(abs(box.minLatitude + 1.01) < 1e-9 && abs(box.maxLatitude - 1.01) < 1e-9)
        let span = 1.01 / cos(.pi / 180)  // 1.010154°
        #expect(abs(box.minLongitude + span) < 1e-9 && abs(box.maxLongitude - span) < 1e-9)
    }

    @Test(
        "every point of the circle is in the box",
        arguments: [
            (19.0760, 72.8777, 25_000.0), (28.6139, 77.2090, 500_000), (0, 0, 1_000), (-33.87, 151.21, 100_000),
            (60, 10, 500_000), (-75, -60, 200_000), (85, 0, 300_000), (10, 170, 900_000), (45, -100, 3_000_000),
            (89.5, 45, 60_000), (-89.99, 0, 5_000),  // circles over a pole
        ])
    func enclosesCircle(latitude: Double, longitude: Double, meters: Double) {
        let box = GeoBoundingBox(latitude: latitude, longitude: longitude, radiusMeters: meters)
        for step in 0..<360 {
            for fraction in [0.5, 0.999] {
                let point = destination(latitude: latitude, longitude: longitude, meters: meters * fraction, bearing: Double(step))
                #expect(contains(box, point), "bearing \(step)°, \(fraction) of \(meters) m: \(point) outside \(box)")
            }
        }
        #expect(contains(box, (latitude, longitude)))
    }

    @Test("the box is tight: points at twice the radius north, south, east and west fall outside it")
    func notTooLarge() {
        let (latitude, longitude, meters) = (19.0760, 72.8777, 50_000.0)
        let box = GeoBoundingBox(latitude: latitude, longitude: longitude, radiusMeters: meters)
        for bearing in [0.0, 90, 180, 270] {
            #expect(!contains(box, destination(latitude: latitude, longitude: longitude, meters: 2 * meters, bearing: bearing)), "bearing \(bearing)")
        }
        #expect(box.maxLatitude - box.minLatitude < 2 * 1.02 * meters / radius * 180 / .pi)
    }

    @Test("known distance: Pune is 120 km from Mumbai, inside a 125 km box and outside a 100 km one")
    func mumbaiPune() throws {
        let gazetteer = Gazetteer()
        let mumbai = try #require(gazetteer.city(named: "Mumbai"))
        let pune = try #require(gazetteer.city(named: "Pune"))
        let km = distance((mumbai.latitude, mumbai.longitude), (pune.latitude, pune.longitude)) / 1_000
        #expect(km > 120 && km < 120.6, "\(km) km")
        #expect(contains(GeoBoundingBox(latitude: mumbai.latitude, longitude: mumbai.longitude, radiusMeters: 125_000), (pune.latitude, pune.longitude)))
        #expect(!contains(GeoBoundingBox(latitude: mumbai.latitude, longitude: mumbai.longitude, radiusMeters: 100_000), (pune.latitude, pune.longitude)))
    }

    @Test("near a pole the box takes every longitude and stops at ±90°", arguments: [(89.95, 1_000.0), (90, 1), (-89.99, 5_000), (89.5, 60_000)])
    func poles(latitude: Double, meters: Double) {
        let box = GeoBoundingBox(latitude: latitude, longitude: 45, radiusMeters: meters)
        #expect(box.minLongitude == -180 && box.maxLongitude == 180)
        #expect(box.maxLatitude <= 90 && box.minLatitude >= -90)
        let angular = meters / radius * 180 / .pi
        #expect(box.maxLatitude >= min(90, latitude + angular) && box.minLatitude <= max(-90, latitude - angular))
        if abs(latitude) + angular >= 90 { #expect(latitude > 0 ? box.maxLatitude == 90 : box.minLatitude == -90, "the circle covers the pole") }
    }

    @Test("a circle across the antimeridian takes every longitude; one short of it does not", arguments: [179.9, -179.95, 180, -180])
    func antimeridian(longitude: Double) {
        let box = GeoBoundingBox(latitude: -17.7, longitude: longitude, radiusMeters: 50_000)
        #expect(box.minLongitude == -180 && box.maxLongitude == 180)
        let west = destination(latitude: -17.7, longitude: longitude, meters: 40_000, bearing: 270)
        let east = destination(latitude: -17.7, longitude: longitude, meters: 40_000, bearing: 90)
        #expect(contains(box, west) && contains(box, east))

        let clear = GeoBoundingBox(latitude: -17.7, longitude: 178, radiusMeters: 50_000)
        #expect(clear.minLongitude > 177 && clear.maxLongitude < 179)
    }

    @Test("a radius covering half the earth gives the whole globe")
    func hugeRadius() {
        let box = GeoBoundingBox(latitude: 20, longitude: 78, radiusMeters: 20_000_000)
        #expect(box == GeoBoundingBox(minLatitude: -90, maxLatitude: 90, minLongitude: -180, maxLongitude: 180))
    }

    @Test("a zero radius is the point itself; a negative one an empty box that matches nothing")
    func degenerate() {
        let point = GeoBoundingBox(latitude: 12.5, longitude: -7.25, radiusMeters: 0)
        #expect(point == GeoBoundingBox(minLatitude: 12.5, maxLatitude: 12.5, minLongitude: -7.25, maxLongitude: -7.25))
        let negative = GeoBoundingBox(latitude: 12.5, longitude: -7.25, radiusMeters: -1_000)
        #expect(negative.minLatitude > negative.maxLatitude && negative.minLongitude > negative.maxLongitude)
    }

    @Test("the SQL predicate and its parameters, corner by corner")
    func predicate() {
        #expect(
            GeoBoundingBox.predicate(table: "e", firstParameter: 4)
                == "point(e.longitude::float8, e.latitude::float8) <@ box(point($4::float8, $5::float8), point($6::float8, $7::float8))")
        let box = GeoBoundingBox(latitude: 19.076, longitude: 72.8777, radiusMeters: 10_000)
        #expect(box.parameters == [box.minLongitude, box.minLatitude, box.maxLongitude, box.maxLatitude])
        #expect(box.minLongitude < 72.8777 && box.maxLongitude > 72.8777 && box.minLatitude < 19.076 && box.maxLatitude > 19.076)
    }
}

extension GeoBoundingBox {
    /// A box with given edges (the type has only the circle initialiser).
    fileprivate init(minLatitude: Double, maxLatitude: Double, minLongitude: Double, maxLongitude: Double) {
        self.init(latitude: 0, longitude: 0, radiusMeters: 0)
        (self.minLatitude, self.maxLatitude, self.minLongitude, self.maxLongitude) = (minLatitude, maxLatitude, minLongitude, maxLongitude)
    }
}
