import Foundation
import HappeningModel
import HappeningPostgres

/// Where the next page of an event list starts: the last event's sort key (keyset pagination), so a deep page
/// costs what the first does (an index range from the key) instead of reading and dropping every row before it
/// (OFFSET). Each page's `pagination.next` carries it when there is more; a client sends it back as `cursor=`
/// and treats it as opaque. `page` keeps working as before.
struct PageCursor: Sendable, Equatable {
    /// The list orders a cursor can continue.
    enum Order: Sendable { case date, price }

    /// The last event's price in paise (price order only).
    var pricePaise: Int64?
    /// The last event's `date_time`, microseconds since 1970 (PostgreSQL's precision, so exact).
    var dateMicros: Int64
    var id: UUID

    var order: Order { pricePaise == nil ? .date : .price }

    /// The cursor after `event` in `order`; nil if its price is not a decimal amount.
    init?(after event: EventRecord, order: Order) {
        id = event.id
        dateMicros = Int64((event.date_time.timeIntervalSince1970 * 1_000_000).rounded())
        if order == .price {
            guard let numeric = PostgresNumeric(event.price), let paise = try? numeric.minorUnits(scale: 2) else { return nil }
            pricePaise = paise
        }
    }

    /// Parses ``text``: `<micros>_<id>` (date order) or `p<paise>_<micros>_<id>` (price order).
    init?(text: String) {
        var parts = text.split(separator: "_", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 3, parts[0].hasPrefix("p"), let paise = Int64(parts[0].dropFirst()), paise >= 0 {
            pricePaise = paise
            parts.removeFirst()
        }
        guard parts.count == 2, let micros = Int64(parts[0]), micros >= 0, let id = UUID(uuidString: parts[1]) else { return nil }
        dateMicros = micros
        self.id = id
    }

    var text: String {
        let tail = "\(dateMicros)_\(id.lowercasedText)"
        return pricePaise.map { "p\($0)_" + tail } ?? tail
    }

    /// The cursor of the `cursor` query parameter for a list in `order`; nil when absent, a 400 when it is not one.
    static func parameter(_ query: [String: String], order: Order?) throws -> PageCursor? {
        guard let raw = query["cursor"], !raw.isEmpty else { return nil }
        guard let order else { throw AppError.validation(["cursor": "is not available with sort=distance (use page)"]) }
        guard let cursor = PageCursor(text: raw), cursor.order == order else {
            throw AppError.validation(["cursor": "must be a pagination.next value of this list"])
        }
        return cursor
    }

    /// The timestamp as PostgreSQL text, exact to the microsecond.
    private var timestampText: String {
        let seconds = dateMicros / 1_000_000
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withDashSeparatorInDate, .withColonSeparatorInTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(seconds))) + String(format: ".%06lld+00", dateMicros % 1_000_000)
    }

    /// The condition "after this cursor" on the events alias `table`, binding its values.
    func condition(table e: String, bind: (any PostgresEncodable) -> String) -> String {
        let date = bind(timestampText)
        let id = bind(self.id)
        if let pricePaise {
            let price = bind(PostgresNumeric(minorUnits: pricePaise, scale: 2))
            return "\(e).price >= \(price)::numeric AND (\(e).price, \(e).date_time, \(e).id) > (\(price)::numeric, \(date)::timestamptz, \(id)::uuid)"
        }
        // The plain `>=` lets the homepage index start its range at the cursor.
        return "\(e).date_time >= \(date)::timestamptz AND (\(e).date_time, \(e).id) > (\(date)::timestamptz, \(id)::uuid)"
    }
}
