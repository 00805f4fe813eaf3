import Foundation
import HappeningModel
import HappeningPostgres
import Hummingbird

/// An event as the API returns it (the original's keys; money as an exact decimal string).
struct EventRecord: Codable, Sendable, Equatable, ResponseEncodable {
    /// Ids go out as lowercase UUID text, as PostgreSQL (and so the original API) writes them.
    @LowercaseID var id: UUID
    var title: String
    var description: String?
    var date_time: Date
    var venue: String
    var total_tickets: Int
    var available_tickets: Int
    var price: String
    var category: String
    var image_url: String?
    @LowercaseOptionalID var created_by: UUID?
    var created_at: Date
    var is_cancelled: Bool
    var approval_status: ApprovalStatus
    var admin_notes: String?
    @LowercaseOptionalID var approved_by: UUID?
    var approved_at: Date?
    var latitude: Double?
    var longitude: Double?
    var organizer_name: String?
    /// Present on near-me searches.
    var distance_km: Double?
    /// Present on the owner's list (`my-events`): tickets held or sold.
    var tickets_sold: Int?

    /// The columns every event query selects, in this order (`e` is events, `u` the organiser).
    static let columns = """
        e.id, e.title, e.description, e.date_time, e.venue, e.total_tickets, e.available_tickets, e.price::text,
        e.category::text, e.image_url, e.created_by, e.created_at, e.is_cancelled, e.approval_status::text,
        e.admin_notes, e.approved_by, e.approved_at, e.latitude::float8, e.longitude::float8, u.name
        """

    /// Decodes the ``columns``; `extra` columns after them may carry `distance_km`.
    init(row: PostgresRow, distanceColumn: Int? = nil) throws {
        id = try row.decode(0)
        title = try row.decode(1)
        description = try row.decode(2, as: String?.self)
        date_time = try row.decode(3)
        venue = try row.decode(4)
        total_tickets = try row.decode(5)
        available_tickets = try row.decode(6)
        price = try row.decode(7)
        category = try row.decode(8)
        image_url = try row.decode(9, as: String?.self)
        created_by = try row.decode(10, as: UUID?.self)
        created_at = try row.decode(11)
        is_cancelled = try row.decode(12)
        approval_status = try row.decode(13)
        admin_notes = try row.decode(14, as: String?.self)
        approved_by = try row.decode(15, as: UUID?.self)
        approved_at = try row.decode(16, as: Date?.self)
        latitude = try row.decode(17, as: Double?.self)
        longitude = try row.decode(18, as: Double?.self)
        organizer_name = try row.decode(19, as: String?.self)
        if let distanceColumn { distance_km = try row.decode(distanceColumn, as: Double?.self).map { ($0 / 100).rounded() / 10 } }
        tickets_sold = nil
    }

    /// True when the public may see it: approved, not cancelled.
    var isPublic: Bool { approval_status == .approved && !is_cancelled }

    /// What anyone may read of it: without the reviewer's notes and who approved it (staff matters).
    var publicView: EventRecord {
        var event = self
        event.admin_notes = nil
        event.approved_by = nil
        return event
    }
}

/// A page of results: `page` (from 1) and `limit` (1…100), with `has_more` computed by reading one extra row.
struct PageRequest: Sendable, Equatable {
    var page: Int
    var limit: Int
    var offset: Int { (page - 1) * limit }

    static let maximumLimit = 100
    /// How deep offset paging reaches (page × limit): an OFFSET makes PostgreSQL read and drop every row before the
    /// page, so a deep page is as expensive as the whole list. Past it the lists continue by `cursor` (keyset).
    static let maximumDepth = 10_000

    /// Reads `page` and `limit` from the query string; bad values are a 400 with details.
    init(_ query: [String: String], defaultLimit: Int = 20) throws {
        var problems: [String: String] = [:]
        page = 1
        limit = defaultLimit
        if let text = query["page"] {
            if let value = Int(text), (1...10_000).contains(value) { page = value } else { problems["page"] = "must be a whole number from 1 to 10000" }
        }
        if let text = query["limit"] {
            if let value = Int(text), (1...Self.maximumLimit).contains(value) {
                limit = value
            } else {
                problems["limit"] = "must be a whole number from 1 to \(Self.maximumLimit)"
            }
        }
        if problems.isEmpty, page * limit > Self.maximumDepth {
            problems["page"] = "page × limit must be at most \(Self.maximumDepth); continue further with the cursor the lists return"
        }
        if !problems.isEmpty { throw AppError.validation(problems) }
    }

    init(page: Int, limit: Int) {
        self.page = page
        self.limit = limit
    }

    /// Splits rows read with one look-ahead row (`limit + 1`) into this page's rows and its pagination.
    func slice<Row>(_ rows: [Row]) -> ([Row], Pagination) {
        (Array(rows.prefix(limit)), Pagination(page: page, limit: limit, has_more: rows.count > limit))
    }
}

/// The pagination block every list answer carries.
struct Pagination: Codable, Sendable {
    var page: Int
    var limit: Int
    var has_more: Bool
    /// Event lists in date or price order: the ``PageCursor`` of the next page (`cursor=`), when there is one.
    var next: String? = nil
}

/// A page of events as the list endpoints return it.
struct EventPage: ResponseEncodable, Codable, Sendable {
    var message: String
    var events: [EventRecord]
    var pagination: Pagination

    /// Builds a page from up to `limit + 1` rows; with an `order`, `pagination.next` continues after its last event.
    init(message: String, rows: [EventRecord], page: PageRequest, order: PageCursor.Order? = nil) {
        self.message = message
        (self.events, self.pagination) = page.slice(rows)
        if pagination.has_more, let order, let last = events.last { pagination.next = PageCursor(after: last, order: order)?.text }
    }
}
