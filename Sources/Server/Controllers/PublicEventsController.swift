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
        return try await cache.list("upcoming:\(Self.position(page, cursor))&limit=\(page.limit)", logger: context.logger) {
            try JSON.encode(
                EventPage(message: "Upcoming events", rows: try await events.upcoming(page: page, cursor: cursor).map(\.publicView), page: page, order: .date))
        }
    }

    @Sendable func search(request: Request, context: AppRequestContext) async throws -> Response {
        let search = try EventSearch(request.uri.queryParameters.dictionary, gazetteer: gazetteer)
        let events = self.events
        return try await cache.list("search:\(search.cacheKey)", logger: context.logger) {
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
        guard let raw = context.parameters.get("category"), let category = EventCategory(rawValue: raw.lowercased()) else {
            throw AppError.validation(["category": "must be one of \(EventCategory.allCases.map(\.rawValue).joined(separator: ", "))"])
        }
        let query = request.uri.queryParameters.dictionary
        let page = try PageRequest(query)
        let cursor = try PageCursor.parameter(query, order: .date)
        let events = self.events
        return try await cache.list("category:\(category.rawValue)&\(Self.position(page, cursor))&limit=\(page.limit)", logger: context.logger) {
            try JSON.encode(
                EventPage(
                    message: "Events in \(category.rawValue)",
                    rows: try await events.upcoming(category: category, page: page, cursor: cursor).map(\.publicView),
                    page: page, order: .date))
        }
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
