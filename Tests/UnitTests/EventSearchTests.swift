import Foundation
import HTTPTypes
import HappeningGeo
import HappeningPostgres
import HummingbirdCore
import Testing

@testable import Server

private let gazetteer = Gazetteer()
/// Wednesday 16 January 2030, 12:00 UTC (17:30 in India).
private let wednesday = Date(timeIntervalSince1970: 1_894_795_200)

/// The search a query string (as the route reads it: the first value of a repeated name wins) parses to.
private func search(_ query: String, now: Date = wednesday) throws -> EventSearch {
    try EventSearch(URI("/api/events/public/search?" + query).queryParameters.dictionary, gazetteer: gazetteer, now: now)
}

private func key(_ query: String, now: Date = wednesday) throws -> String { try search(query, now: now).cacheKey }

/// The field-by-field problems a query is refused with (empty if it is accepted).
private func problems(_ query: String) -> [String: String] {
    do {
        _ = try search(query)
        return [:]
    } catch let error as AppError {
        return error.details ?? ["(no details)": error.message]
    } catch {
        return ["(not an AppError)": "\(error)"]
    }
}

/// The public search's canonical cache key: the same search gives the same key however its query string is
/// written (order, case, defaults, aliases, unknown parameters), different searches give different keys, and
/// bad values are refused field by field. Also the date windows (India time) and the SQL it binds.
@Suite("Server: search canonicalisation", .timeLimit(.minutes(10)))
struct EventSearchTests {
    @Test("the key lists the known parameters normalised, in a fixed order")
    func exactKey() throws {
        #expect(try key("") == "sort=date&page=1&limit=20")
        #expect(
            try key("sort=price&max_price=500&min_price=99.5&category=Music&query=Jazz&date=2030-01-20&page=2&limit=50")
                == "q=jazz&category=music&min=9950&max=50000&from=1895077800-1895164200&sort=price&page=2&limit=50")
        #expect(try key("lat=19.07601&lng=72.87769&radius_km=10") == "near=19.076,72.8777,10.0&sort=date&page=1&limit=20")
    }

    @Test("attack: search text cannot spell another search's key (`&`, `=` and `%` in the text are encoded)")
    func textCannotForgeAKey() throws {
        #expect(try key("query=rock%26category%3Dmusic") != key("query=rock&category=music"))
        #expect(try key("query=rock%26category%3Dmusic").hasPrefix("q=rock%26category%3Dmusic&sort="))
        #expect(try key("query=100%25") != key("query=100%2525"), "a percent sign is encoded too, so encoding is one to one")
    }

    @Test("a NUL escape in JSON is found; an escaped backslash before u0000 is text")
    func nulEscapes() {
        #expect(Request.hasNULEscape(Array(#"{"a":"x\u0000"}"#.utf8)))
        #expect(Request.hasNULEscape(Array(#"{"a":"\\\u0000"}"#.utf8)))
        #expect(!Request.hasNULEscape(Array(#"{"a":"\\u0000"}"#.utf8)))
        #expect(!Request.hasNULEscape(Array(#"{"a":"\u0041"}"#.utf8)))
    }

    @Test("parameter order does not matter")
    func order() throws {
        let forward = try key("query=rock&category=music&min_price=100&max_price=900&date=weekend&city=Pune&sort=distance&page=3&limit=10")
        let backward = try key("limit=10&page=3&sort=distance&city=Pune&date=weekend&max_price=900&min_price=100&category=music&query=rock")
        let shuffled = try key("city=Pune&limit=10&query=rock&date=weekend&sort=distance&max_price=900&page=3&category=music&min_price=100")
        #expect(forward == backward && backward == shuffled)
        #expect(try search("query=rock&city=Pune") == search("city=Pune&query=rock"))
    }

    @Test(
        "explicit defaults equal omitted ones; empty values are as good as absent",
        arguments: [
            "sort=date", "page=1", "limit=20", "category=all", "category=ALL", "page=1&limit=20&sort=date&category=all",
            "query=&category=&min_price=&max_price=&date=&sort=&city=&radius_km=", "query=%20%20", "radius_km=25",
        ])
    func defaults(query: String) throws {
        #expect(try key(query) == key(""))
    }

    @Test(
        "spellings of the same search share a key",
        arguments: [
            ("query=Jazz%20Night", "query=%20%20jazz%20night%20"),
            ("category=MUSIC", "category=music"),
            ("min_price=100", "min_price=100.00"),
            ("max_price=0.5", "max_price=0.50"),
            ("sort=PRICE", "sort=price"),
            ("date=TODAY", "date=today"),
            ("city=Bombay", "city=mumbai"),
            ("city=New%20Delhi", "city=delhi"),
            ("city=Mumbai", "lat=19.076&lng=72.8777"),
            ("city=Mumbai&radius_km=25", "city=Mumbai&radius_km=25.0"),
            ("lat=12.97161&lng=77.59459", "lat=12.97158&lng=77.59462"),
            ("category=food", "category=food&utm_source=mail&ref=x"),
            ("page=2", "page=2&page=7"),
            ("lat=10&lng=20&city=Pune", "lat=10&lng=20"),
            ("date=2030-01-16", "date=today"),
        ])
    func sameSearch(a: String, b: String) throws {
        #expect(try key(a) == key(b))
    }

    @Test(
        "different searches get different keys",
        arguments: [
            ("query=jazz", "query=jazz%20night"), ("category=music", "category=food"), ("min_price=100", "max_price=100"),
            ("date=today", "date=tomorrow"), ("city=Mumbai", "city=Pune"), ("city=Mumbai", "city=Mumbai&radius_km=10"),
            ("lat=19.0760&lng=72.8777", "lat=19.0762&lng=72.8777"), ("sort=date", "sort=price"), ("page=1", "page=2"), ("limit=20", "limit=21"),
            ("", "city=Mumbai"),
        ])
    func differentSearch(a: String, b: String) throws {
        #expect(try key(a) != key(b))
    }

    @Test(
        "bad values are refused, naming the field",
        arguments: [
            ("page=0", "page"), ("page=10001", "page"), ("page=two", "page"), ("limit=0", "limit"), ("limit=101", "limit"),
            ("category=opera", "category"), ("min_price=-1", "min_price"), ("min_price=1.234", "min_price"), ("max_price=ten", "max_price"),
            ("max_price=10000000.01", "max_price"), ("min_price=500&max_price=100", "max_price"),
            ("date=yesterday", "date"), ("date=2030-02-30", "date"), ("date=2030-1-5", "date"),
            ("lat=91&lng=0", "lat"), ("lat=0&lng=181", "lat"), ("lat=10", "lat"), ("lat=ten&lng=20", "lat"), ("lat=nan&lng=nan", "lat"),
            ("city=Atlantis", "city"), ("radius_km=0&city=Pune", "radius_km"), ("radius_km=501&city=Pune", "radius_km"),
            ("radius_km=nan&city=Pune", "radius_km"),
            ("sort=popularity", "sort"), ("sort=distance", "sort"),
            // Expensive reads: text too short for the trigram indexes, an offset deeper than 10,000 rows.
            ("query=ab", "query"), ("page=101&limit=100", "page"), ("page=501", "page"),
        ])
    func refused(query: String, field: String) {
        let found = problems(query)
        #expect(found[field] != nil, "\(query): \(found)")
        #expect(found.count == 1, "only \(field) is wrong: \(found)")
    }

    @Test("a query of more than 100 characters is refused; 100 is fine")
    func longQuery() {
        #expect(problems("query=" + String(repeating: "a", count: 101))["query"] == "must be at most 100 characters")
        #expect(problems("query=" + String(repeating: "a", count: 100)).isEmpty)
    }

    @Test("every problem is reported at once, as a 400 validation error")
    func allProblems() throws {
        let error = try #require(#expect(throws: AppError.self) { try search("page=0&limit=0&category=x&sort=y&date=z") })
        #expect(error.status == .badRequest && error.code == "validation_failed")
        #expect(Set(error.details?.keys.map { $0 } ?? []) == ["page", "limit", "category", "sort", "date"])
    }

    @Test("date windows are India days ([from, to) in UTC), and weekend is the coming Saturday and Sunday")
    func windows() throws {
        let istMidnight16 = 1_894_732_200.0  // 2030-01-16 00:00 +05:30
        let day = 86_400.0
        func window(_ label: String, now: Date = wednesday) throws -> (Double, Double) {
            let window = try #require(try search("date=\(label)", now: now).window)
            return (window.from.timeIntervalSince1970, window.to.timeIntervalSince1970)
        }
        #expect(try window("today") == (istMidnight16, istMidnight16 + day))
        #expect(try window("tomorrow") == (istMidnight16 + day, istMidnight16 + 2 * day))
        #expect(try window("week") == (istMidnight16, istMidnight16 + 7 * day))
        #expect(try window("weekend") == (istMidnight16 + 3 * day, istMidnight16 + 5 * day))
        #expect(try window("2030-01-20") == (istMidnight16 + 4 * day, istMidnight16 + 5 * day))
        // 20:00 UTC on the 16th is already the 17th in India.
        #expect(try window("today", now: wednesday.addingTimeInterval(8 * 3_600)) == (istMidnight16 + day, istMidnight16 + 2 * day))
        // On a Sunday the weekend is what is left of that Sunday; on a Saturday, Saturday and Sunday.
        #expect(try window("weekend", now: Date(timeIntervalSince1970: istMidnight16 + 4 * day + 3_600)) == (istMidnight16 + 4 * day, istMidnight16 + 5 * day))
        #expect(try window("weekend", now: Date(timeIntervalSince1970: istMidnight16 + 3 * day + 3_600)) == (istMidnight16 + 3 * day, istMidnight16 + 5 * day))
    }

    @Test("the SQL binds the near-me box after the origin and radius, and escapes LIKE wildcards in the text")
    func sql() throws {
        let (sql, bindings) = try search("query=50%25_off&lat=19.076&lng=72.8777&radius_km=10&sort=distance").sql()
        #expect(bindings.count == 10)
        #expect(bindings[0]?.postgresText == #"%50\%\_off%"#)
        #expect(sql.contains("box(point($5::float8, $6::float8), point($7::float8, $8::float8))"))
        #expect(sql.contains("LIMIT $9 OFFSET $10"))
        #expect(sql.contains("ORDER BY distance_m, e.date_time, e.id"))
        let box = GeoBoundingBox(latitude: 19.076, longitude: 72.8777, radiusMeters: 10_000)
        #expect(bindings[4...7].map { Double($0?.postgresText ?? "") } == box.parameters.map { $0 as Double? })
        #expect(bindings[8]?.postgresText == "21" && bindings[9]?.postgresText == "0")
    }
}
