import Foundation
import HappeningModel
import Hummingbird

/// `/api/analytics`: the admin dashboard (the original's figures, with sold tickets counting confirmed bookings
/// only, and an optional date range) and a host's view of their own events. Money is exact rupee text.
struct AnalyticsController: Sendable {
    let analytics: AnalyticsRepository

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("dashboard", use: dashboard)
        group.get("host", use: host)
    }

    /// `from` / `to` (YYYY-MM-DD, UTC days, `to` inclusive) as a half-open range of instants.
    struct DateRange {
        var from: Date?
        var to: Date?

        init(_ query: [String: String], defaultDays: Int? = nil, now: Date = Date()) throws {
            var problems: [String: String] = [:]
            func day(_ name: String) -> Date? {
                guard let text = query[name] else { return nil }
                guard text.count == 10, let date = Self.format.date(from: text) else {
                    problems[name] = "must be a date like 2026-11-25"
                    return nil
                }
                return date
            }
            from = day("from")
            to = day("to").map { $0.addingTimeInterval(86_400) }
            if let defaultDays {
                let today = Self.format.date(from: Self.format.string(from: now))!.addingTimeInterval(86_400)
                if to == nil { to = today }
                if from == nil { from = to!.addingTimeInterval(-Double(defaultDays) * 86_400) }
            }
            if let from, let to {
                if from >= to { problems["from"] = "must not be after to" }
                if to.timeIntervalSince(from) > 366 * 86_400 { problems["to"] = "the range can span at most 366 days" }
            }
            guard problems.isEmpty else { throw AppError.validation(problems) }
        }

        private static let format: DateFormatter = {
            let format = DateFormatter()
            format.locale = Locale(identifier: "en_US_POSIX")
            format.timeZone = TimeZone(identifier: "UTC")
            format.dateFormat = "yyyy-MM-dd"
            return format
        }()
    }

    /// Revenue, bookings and popular events count confirmed bookings made in the range (all time without one);
    /// active events, hosts and capacity describe now (upcoming approved events; sold = confirmed tickets).
    @Sendable func dashboard(request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        let query = request.uri.queryParameters.dictionary
        let range = try DateRange(query)
        var shown: [String: String] = [:]
        if let from = query["from"] { shown["from"] = from }
        if let to = query["to"] { shown["to"] = to }
        return try context.json(try await analytics.dashboard(from: range.from, to: range.to, shown: shown))
    }

    /// The caller's own events (an approved host): tickets sold and revenue from confirmed bookings, cancelled
    /// bookings, occupancy; and confirmed sales per UTC day over the range (default: the last 30 days).
    @Sendable func host(request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        guard user.host_status == .approved || user.role == .admin else {
            throw AppError.forbidden("Only approved hosts have host analytics", code: "not_a_host")
        }
        let query = request.uri.queryParameters.dictionary
        let range = try DateRange(query, defaultDays: 30)
        let page = try PageRequest(query)
        return try context.json(try await analytics.host(user.id, from: range.from, to: range.to, page: page))
    }
}
