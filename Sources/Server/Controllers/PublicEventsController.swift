import Foundation
import HappeningGeo
import HappeningModel
import Hummingbird

/// Public (no token) event reads, cached in Redis: upcoming, search, categories, by category, one event.
struct PublicEventsController: Sendable {
    let events: EventRepository
    let cache: ReadCache
    let gazetteer: Gazetteer

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("public/upcoming", use: upcoming)
        group.get("public/search", use: search)
        group.get("public/categories", use: categories)
        group.get("public/category/:category", use: byCategory)
        group.get(":id", use: one)
    }

    @Sendable func upcoming(request: Request, context: AppRequestContext) async throws -> Response {
        let query = request.uri.queryParameters.dictionary
        let page = try PageRequest(query)
        let cursor = try PageCursor.parameter(query, order: .date)
        let events = self.events
        return try await cache.list(Self.upcomingKey(page, cursor), logger: context.logger) {
            try JSON.encode(
                EventPage(message: "Upcoming events", rows: try await events.upcoming(page: page, cursor: cursor).map(\.publicView), page: page, order: .date))
        }
    }

    @Sendable func search(request: Request, context: AppRequestContext) async throws -> Response {
        let search = try EventSearch(request.uri.queryParameters.dictionary, gazetteer: gazetteer)
        let events = self.events
        return try await cache.list(Self.searchKey(search), logger: context.logger) {
            try JSON.encode(
                EventPage(message: "Search results", rows: try await events.search(search).map(\.publicView), page: search.page, order: search.cursorOrder))
        }
    }

    @Sendable func categories(request: Request, context: AppRequestContext) async throws -> Response {
        struct Categories: Encodable {
            let message: String
            let categories: [String]
        }
        return try context.json(Categories(message: "Event categories", categories: EventCategory.allCases.map(\.rawValue)))
    }

    @Sendable func byCategory(request: Request, context: AppRequestContext) async throws -> Response {
        let category = try Self.category(context.parameters.get("category"))
        let query = request.uri.queryParameters.dictionary
        let page = try PageRequest(query)
        let cursor = try PageCursor.parameter(query, order: .date)
        let events = self.events
        return try await cache.list(Self.categoryKey(category, page, cursor), logger: context.logger) {
            try JSON.encode(
                EventPage(
                    message: "Events in \(category.rawValue)",
                    rows: try await events.upcoming(category: category, page: page, cursor: cursor).map(\.publicView),
                    page: page, order: .date))
        }
    }

    // MARK: The cache keys of the lists (the routes and the inline answers, ``InlineRoutes``, build them here)

    static func upcomingKey(_ page: PageRequest, _ cursor: PageCursor?) -> String {
        "upcoming:\(position(page, cursor))&limit=\(page.limit)"
    }

    static func searchKey(_ search: EventSearch) -> String { "search:\(search.cacheKey)" }

    static func categoryKey(_ category: EventCategory, _ page: PageRequest, _ cursor: PageCursor?) -> String {
        "category:\(category.rawValue)&\(position(page, cursor))&limit=\(page.limit)"
    }

    /// The list key of a public list request (`upcoming`, `search`, `category/<name>` under `/api/events/public/`)
    /// with its query; throws what the route would answer for bad input, nil for a path that is no such list.
    static func listKey(path: Substring, query: [String: String], gazetteer: Gazetteer) throws -> String? {
        switch path {
        case "upcoming": return upcomingKey(try PageRequest(query), try PageCursor.parameter(query, order: .date))
        case "search": return searchKey(try EventSearch(query, gazetteer: gazetteer))
        case _ where path.hasPrefix("category/"):
            let name = path.dropFirst("category/".count)
            guard !name.contains("/") else { return nil }
            return categoryKey(try category(String(name)), try PageRequest(query), try PageCursor.parameter(query, order: .date))
        default: return nil
        }
    }

    private static func category(_ raw: String?) throws -> EventCategory {
        guard let raw, let category = EventCategory(rawValue: raw.lowercased()) else {
            throw AppError.validation(["category": "must be one of \(EventCategory.allCases.map(\.rawValue).joined(separator: ", "))"])
        }
        return category
    }

    /// The cache key's part for where a page starts.
    private static func position(_ page: PageRequest, _ cursor: PageCursor?) -> String {
        cursor.map { "cursor=\($0.text)" } ?? "page=\(page.page)"
    }

    /// One approved, not cancelled event; 404 otherwise (the miss is not cached).
    @Sendable func one(request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.uuidParameter("id")
        return try await cache.event(id, logger: context.logger, compute: Self.publicEvent(id, events))
    }

    /// The body of `GET /api/events/:id`; 404 for a missing, unapproved or cancelled event.
    static func publicEvent(_ id: UUID, _ events: EventRepository) -> @Sendable () async throws -> [UInt8] {
        {
            guard let event = try await events.find(id), event.isPublic else {
                throw AppError.notFound("Event not found", code: "event_not_found")
            }
            return try JSON.encode(PublicEvent(message: "Event details", event: event.publicView))
        }
    }
}

/// The body of `GET /api/events/:id` (also what the cache holds at `event:<id>`).
struct PublicEvent: Codable {
    let message: String
    let event: EventRecord
}
