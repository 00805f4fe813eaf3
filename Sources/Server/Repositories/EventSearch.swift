import Foundation
import HappeningGeo
import HappeningModel
import HappeningPostgres

/// A validated, normalised public search. Unknown parameters are ignored and known ones are canonicalised,
/// so `cacheKey` is the same for the same search however its query string was written.
struct EventSearch: Sendable, Equatable {
    enum Sort: String, Sendable { case date, price, distance }

    var text: String?
    var category: EventCategory?
    var minPrice: Int64?  // paise
    var maxPrice: Int64?
    /// [from, to) in UTC.
    var window: (from: Date, to: Date)?
    var windowLabel: String?
    var near: (latitude: Double, longitude: Double, radiusKm: Double)?
    var sort: Sort
    var page: PageRequest
    /// Where the page starts (keyset), instead of `page`'s offset.
    var cursor: PageCursor?

    /// Rows skipped before the page: none after a cursor.
    var offset: Int { cursor == nil ? page.offset : 0 }
    /// The order a cursor continues (none by distance).
    var cursorOrder: PageCursor.Order? {
        switch sort {
        case .date: .date
        case .price: .price
        case .distance: nil
        }
    }

    static func == (a: EventSearch, b: EventSearch) -> Bool { a.cacheKey == b.cacheKey }

    /// Parses the query string; any invalid value is a 400 with field details.
    init(_ query: [String: String], gazetteer: Gazetteer, now: Date = Date()) throws {
        var problems: [String: String] = [:]
        page = (try? PageRequest(query)) ?? PageRequest(page: 1, limit: 20)
        do { page = try PageRequest(query) } catch let error as AppError { problems.merge(error.details ?? [:]) { $1 } }

        if let raw = query["query"]?.trimmingCharacters(in: .whitespacesAndNewlines), !raw.isEmpty {
            // Fewer than three characters cannot use the trigram indexes: such text would scan every event.
            if raw.count > 100 {
                problems["query"] = "must be at most 100 characters"
            } else if raw.count < 3 {
                problems["query"] = "must be at least 3 characters"
            } else {
                text = raw.lowercased()
            }
        }
        if let raw = query["category"]?.lowercased(), !raw.isEmpty, raw != "all" {
            if let value = EventCategory(rawValue: raw) {
                category = value
            } else {
                problems["category"] = "must be one of \(EventCategory.allCases.map(\.rawValue).joined(separator: ", ")) or all"
            }
        }
        func money(_ name: String) -> Int64? {
            guard let raw = query[name], !raw.isEmpty else { return nil }
            guard let value = PostgresNumeric(raw), let paise = try? value.minorUnits(scale: 2), paise >= 0, paise <= 10_000_000_00 else {
                problems[name] = "must be an amount from 0 to 10000000 with at most 2 decimals"
                return nil
            }
            return paise
        }
        minPrice = money("min_price")
        maxPrice = money("max_price")
        if let low = minPrice, let high = maxPrice, low > high { problems["max_price"] = "must not be below min_price" }

        if let raw = query["date"]?.lowercased(), !raw.isEmpty {
            if let window = Self.window(raw, now: now) {
                self.window = window
                windowLabel = raw
            } else {
                problems["date"] = "must be today, tomorrow, weekend, week or a date YYYY-MM-DD"
            }
        }

        let radius: Double
        if let raw = query["radius_km"], !raw.isEmpty {
            if let value = Double(raw), value > 0, value <= 500 {
                radius = value
            } else {
                problems["radius_km"] = "must be a number above 0 and at most 500"
                radius = 25
            }
        } else {
            radius = 25
        }
        switch (query["lat"].flatMap(Double.init), query["lng"].flatMap(Double.init), query["lat"], query["lng"]) {
        case (let lat?, let lng?, _, _):
            if (-90...90).contains(lat), (-180...180).contains(lng) {
                // Rounded to ~11 m: nearby searches share a cache entry.
                near = ((lat * 10_000).rounded() / 10_000, (lng * 10_000).rounded() / 10_000, radius)
            } else {
                problems["lat"] = "lat must be within ±90 and lng within ±180"
            }
        case (nil, nil, nil, nil): break
        default: problems["lat"] = "lat and lng must both be numbers"
        }
        if near == nil, let city = query["city"], !city.isEmpty {
            if let place = gazetteer.city(named: city) { near = (place.latitude, place.longitude, radius) } else { problems["city"] = "is not a known city" }
        }
        if let raw = query["sort"]?.lowercased(), !raw.isEmpty {
            if let value = Sort(rawValue: raw) {
                sort = value
            } else {
                problems["sort"] = "must be date, price or distance"
                sort = .date
            }
        } else {
            sort = .date
        }
        if sort == .distance, near == nil, problems["lat"] == nil, problems["city"] == nil { problems["sort"] = "distance needs lat and lng, or city" }
        do { cursor = try PageCursor.parameter(query, order: cursorOrder) } catch let error as AppError { problems.merge(error.details ?? [:]) { $1 } }
        if !problems.isEmpty { throw AppError.validation(problems) }
    }

    /// The canonical form: known parameters only, normalised, in a fixed order. The search text is the one free
    /// part, so it is percent-encoded (everything but ASCII letters, digits and `-._~`, `%` included): text holding
    /// `&category=music` cannot spell another search's key and poison its cached page.
    var cacheKey: String {
        var parts: [String] = []
        if let text { parts.append("q=\(text.addingPercentEncoding(withAllowedCharacters: Self.keyCharacters) ?? "")") }
        if let category { parts.append("category=\(category.rawValue)") }
        if let minPrice { parts.append("min=\(minPrice)") }
        if let maxPrice { parts.append("max=\(maxPrice)") }
        if let window { parts.append("from=\(Int(window.from.timeIntervalSince1970))-\(Int(window.to.timeIntervalSince1970))") }
        if let near { parts.append("near=\(near.latitude),\(near.longitude),\(near.radiusKm)") }
        parts.append("sort=\(sort.rawValue)")
        if let cursor { parts.append("cursor=\(cursor.text)") } else { parts.append("page=\(page.page)") }
        parts.append("limit=\(page.limit)")
        return parts.joined(separator: "&")
    }

    /// What the search text keeps unencoded in ``cacheKey``: RFC 3986's unreserved ASCII characters.
    private static let keyCharacters = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// The date window in the platform's time zone (India, UTC+05:30).
    static func window(_ label: String, now: Date) -> (Date, Date)? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Kolkata")!
        let today = calendar.startOfDay(for: now)
        func days(_ n: Int, from: Date) -> Date { calendar.date(byAdding: .day, value: n, to: from)! }
        switch label {
        case "today": return (today, days(1, from: today))
        case "tomorrow": return (days(1, from: today), days(2, from: today))
        case "week": return (today, days(7, from: today))
        case "weekend":
            let weekday = calendar.component(.weekday, from: today)  // 1 = Sunday … 7 = Saturday
            if weekday == 1 { return (today, days(1, from: today)) }
            let saturday = days(7 - weekday, from: today)
            return (saturday, days(2, from: saturday))
        default:
            let parts = label.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 3, label.count == 10,
                let day = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])),
                calendar.component(.day, from: day) == parts[2]
            else { return nil }
            return (day, days(1, from: day))
        }
    }

    /// The filters every public search applies (upcoming, approved, not cancelled, text, category, price, dates),
    /// on the events alias `e`, with their bindings; the location is left to the caller.
    func conditions(includingText: Bool = true) -> ([String], PostgresBindings) {
        var bindings: PostgresBindings = []
        func bind(_ value: any PostgresEncodable) -> String {
            bindings.append(value)
            return "$\(bindings.count)"
        }
        var conditions = ["e.approval_status = 'approved'", "NOT e.is_cancelled", "e.date_time > now()"]
        if includingText, let text { conditions.append(Self.textCondition(text, table: "e", bind: bind)) }
        if let cursor { conditions.append(cursor.condition(table: "e", bind: bind)) }
        if let category { conditions.append("e.category = \(bind(category.rawValue))::event_category") }
        if let minPrice { conditions.append("e.price >= \(bind(PostgresNumeric(minorUnits: minPrice, scale: 2)))::numeric") }
        if let maxPrice { conditions.append("e.price <= \(bind(PostgresNumeric(minorUnits: maxPrice, scale: 2)))::numeric") }
        if let window {
            conditions.append("e.date_time >= \(bind(window.from))::timestamptz AND e.date_time < \(bind(window.to))::timestamptz")
        }
        return (conditions, bindings)
    }

    /// `text` anywhere in the title or the description, case-insensitive (`ILIKE`, which the trigram indexes serve).
    static func textCondition(_ text: String, table: String, bind: (any PostgresEncodable) -> String) -> String {
        let pattern =
            "%"
            + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_") + "%"
        let p = bind(pattern)
        return "(\(table).title ILIKE \(p) OR \(table).description ILIKE \(p))"
    }

    /// The SQL and bindings for this search sorted by date or price (by distance: ``NearestEvents``).
    func sql() -> (String, PostgresBindings) {
        var (conditions, bindings) = self.conditions()
        func bind(_ value: any PostgresEncodable) -> String {
            bindings.append(value)
            return "$\(bindings.count)"
        }
        var distance = "NULL::float8"
        if let near {
            let origin = EarthDistanceSQL.point(latitude: "\(bind(near.latitude))::float8", longitude: "\(bind(near.longitude))::float8")
            let meters = bind(near.radiusKm * 1000)
            // The bounding box uses the GiST index; earth_distance is the exact cut.
            let box = GeoBoundingBox(latitude: near.latitude, longitude: near.longitude, radiusMeters: near.radiusKm * 1000)
            let corners = box.parameters.map { bind($0) }
            conditions.append(GeoBoundingBox.predicate(table: "e", firstParameter: Int(corners[0].dropFirst())!))
            distance = EarthDistanceSQL.distance(from: origin, toEventIn: "e")
            conditions.append("\(distance) <= \(meters)::float8")
        }
        let order: String
        switch sort {
        case .date: order = "e.date_time, e.id"
        case .price: order = "e.price, e.date_time, e.id"
        case .distance: order = "distance_m, e.date_time, e.id"
        }
        let sql = """
            SELECT \(EventRecord.columns), \(distance) AS distance_m
            FROM events e LEFT JOIN users u ON u.id = e.created_by
            WHERE \(conditions.joined(separator: " AND "))
            ORDER BY \(order)
            LIMIT \(bind(page.limit + 1)) OFFSET \(bind(offset))
            """
        return (sql, bindings)
    }
}
