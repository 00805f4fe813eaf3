import Foundation
import HappeningGeo
import HappeningModel
import HappeningPostgres

/// The body of `POST /api/events` and `PUT /api/events/:id`. Every field is optional here; the rules
/// (required on create, ranges, formats) are checked in ``fields(creating:gazetteer:now:)``.
struct EventInput: Decodable {
    var title: String?
    var description: String?
    var date_time: String?
    var venue: String?
    var total_tickets: Int?
    var price: MoneyInput?
    var category: String?
    var image_url: String?
    var latitude: Double?
    var longitude: Double?
    var city: String?

    /// A price sent as a JSON number or a string; kept as exact decimal text.
    struct MoneyInput: Decodable {
        var text: String
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let string = try? container.decode(String.self) { text = string } else { text = "\(try container.decode(Decimal.self))" }
        }
    }

    /// Validates and converts; throws 400 with every problem at once.
    func fields(creating: Bool, gazetteer: Gazetteer, now: Date = Date()) throws -> EventRepository.Fields {
        var validator = Validator()
        var fields = EventRepository.Fields()
        if creating || title != nil { fields.title = validator.require(title, "title", maxLength: 200) }
        if let description {
            if description.count > 5_000 { validator.fail("description", "must be at most 5000 characters") }
            fields.description = .some(description.isEmpty ? nil : description)
        }
        if creating || venue != nil { fields.venue = validator.require(venue, "venue", maxLength: 300) }
        if creating || date_time != nil {
            if let text = date_time, let date = Self.parseDate(text) {
                if date <= now { validator.fail("date_time", "must be in the future") } else { fields.dateTime = date }
            } else {
                validator.fail("date_time", date_time == nil ? "is required" : "must be an ISO 8601 date-time, e.g. 2027-01-31T19:30:00+05:30")
            }
        }
        if creating || total_tickets != nil {
            if let total = total_tickets, (1...100_000).contains(total) {
                fields.totalTickets = total
            } else {
                validator.fail("total_tickets", "must be a whole number from 1 to 100000")
            }
        }
        if creating || price != nil {
            if let text = price?.text, let value = PostgresNumeric(text), let paise = try? value.minorUnits(scale: 2),
                (0...1_000_000_000).contains(paise)
            {
                fields.price = PostgresNumeric(minorUnits: paise, scale: 2)
            } else {
                validator.fail("price", "must be an amount from 0 to 10000000 with at most 2 decimals")
            }
        }
        if creating || category != nil {
            if let raw = category?.lowercased(), let value = EventCategory(rawValue: raw) {
                fields.category = value
            } else {
                validator.fail("category", "must be one of \(EventCategory.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        if let url = image_url {
            if url.isEmpty {
                fields.imageURL = .some(nil)
            } else if url.count > 2_000 || !(url.hasPrefix("https://") || url.hasPrefix("http://")) {
                validator.fail("image_url", "must be an http(s) URL")
            } else {
                fields.imageURL = .some(url)
            }
        }
        switch (latitude, longitude) {
        case (let lat?, let lng?):
            if (-90...90).contains(lat), (-180...180).contains(lng) {
                fields.latitude = lat
                fields.longitude = lng
            } else {
                validator.fail("latitude", "latitude must be within ±90 and longitude within ±180")
            }
        case (nil, nil):
            // No coordinates: the city, or the venue's last part ("Hall 2, Bhopal"), from the offline gazetteer.
            let named = city ?? venue.flatMap { $0.split(separator: ",").last.map(String.init) }
            if let named, let place = gazetteer.city(named: named) {
                fields.latitude = place.latitude
                fields.longitude = place.longitude
            } else if city != nil {
                validator.fail("city", "is not a known city")
            }
        default:
            validator.fail("latitude", "latitude and longitude go together")
        }
        try validator.check()
        return fields
    }

    /// True when the edit changes what reviewers approved (not just the description or image).
    var isMaterial: Bool {
        title != nil || date_time != nil || venue != nil || price != nil || category != nil || latitude != nil || city != nil
            || total_tickets != nil
    }

    static func parseDate(_ text: String) -> Date? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return ISO8601DateFormatter().date(from: text) ?? withFraction.date(from: text)
    }
}
