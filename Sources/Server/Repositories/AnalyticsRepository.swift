import Foundation
import HappeningModel
import HappeningPostgres

/// The analytics queries: the admin dashboard and a host's view of their own events. Money is exact rupee text
/// (PostgreSQL `numeric`); sold tickets count confirmed bookings only.
struct AnalyticsRepository: Sendable {
    let postgres: PostgresClient

    struct Dashboard: Encodable {
        struct Stats: Encodable {
            let total_revenue: String
            let total_confirmed_bookings: Int
            let total_active_events: Int
            let total_approved_hosts: Int
        }
        struct Popular: Encodable {
            @LowercaseID var id: UUID
            let title: String
            let bookings_count: Int
            let tickets_sold: Int
        }
        struct Capacity: Encodable {
            let platform_total_capacity: Int
            let platform_total_sold: Int
            let utilization_percentage: String
        }
        let stats: Stats
        let popularEvents: [Popular]
        let capacity: Capacity
        let range: [String: String]
    }

    /// Revenue, bookings and popular events over confirmed bookings made in `from..<to` (all time when nil);
    /// active events, hosts and capacity describe now. `shown` is the range as the caller wrote it.
    func dashboard(from: Date?, to: Date?, shown: [String: String]) async throws -> Dashboard {
        let inRange = "($1::timestamptz IS NULL OR b.booking_date >= $1) AND ($2::timestamptz IS NULL OR b.booking_date < $2)"
        let stats = try await postgres.query(
            """
            SELECT (SELECT coalesce(sum(b.total_amount), 0)::numeric(14, 2)::text FROM bookings b WHERE b.status = 'confirmed' AND \(inRange)),
                   (SELECT count(*) FROM bookings b WHERE b.status = 'confirmed' AND \(inRange)),
                   (SELECT count(*) FROM events WHERE approval_status = 'approved' AND NOT is_cancelled AND date_time > now()),
                   (SELECT count(*) FROM users WHERE host_status = 'approved')
            """, [from, to])[0]
        let popular = try await postgres.query(
            """
            SELECT e.id, e.title, count(*), sum(b.ticket_count) FROM bookings b JOIN events e ON e.id = b.event_id
            WHERE b.status = 'confirmed' AND \(inRange) GROUP BY e.id ORDER BY count(*) DESC, sum(b.ticket_count) DESC, e.id LIMIT 5
            """, [from, to])
        let capacity = try await postgres.query(
            """
            SELECT coalesce(sum(e.total_tickets), 0)::bigint, coalesce(sum(s.sold), 0)::bigint,
                   CASE WHEN coalesce(sum(e.total_tickets), 0) = 0 THEN '0.00'
                        ELSE round(coalesce(sum(s.sold), 0) * 100.0 / sum(e.total_tickets), 2)::numeric(6, 2)::text END
            FROM events e
            LEFT JOIN (SELECT event_id, sum(ticket_count) AS sold FROM bookings WHERE status = 'confirmed' GROUP BY event_id) s ON s.event_id = e.id
            WHERE e.approval_status = 'approved' AND NOT e.is_cancelled AND e.date_time > now()
            """)[0]
        return Dashboard(
            stats: .init(
                total_revenue: try stats.decode(0), total_confirmed_bookings: Int(try stats.decode(1, as: Int64.self)),
                total_active_events: Int(try stats.decode(2, as: Int64.self)), total_approved_hosts: Int(try stats.decode(3, as: Int64.self))),
            popularEvents: try popular.map { row in
                .init(
                    id: try row.decode(0), title: try row.decode(1),
                    bookings_count: Int(try row.decode(2, as: Int64.self)), tickets_sold: Int(try row.decode(3, as: Int64.self)))
            },
            capacity: .init(
                platform_total_capacity: Int(try capacity.decode(0, as: Int64.self)), platform_total_sold: Int(try capacity.decode(1, as: Int64.self)),
                utilization_percentage: try capacity.decode(2)),
            range: shown)
    }

    struct HostAnalytics: Encodable {
        struct Event: Encodable {
            @LowercaseID var id: UUID
            let title: String
            let date_time: Date
            let total_tickets: Int
            let tickets_sold: Int
            let revenue: String
            let cancellations: Int
            let occupancy_percentage: String
        }
        struct Totals: Encodable {
            let events: Int
            let tickets_sold: Int
            let revenue: String
            let cancellations: Int
        }
        struct Day: Encodable {
            let date: String
            let tickets: Int
            let revenue: String
        }
        let totals: Totals
        let events: [Event]
        let daily_sales: [Day]
        let range: [String: String]
    }

    /// `user`'s events, a page of them with their totals, and confirmed sales per UTC day in `from..<to`.
    func host(_ user: UUID, from: Date?, to: Date?, page: PageRequest) async throws -> HostAnalytics {
        let perEvent = """
            SELECT e.id, e.title, e.date_time, e.total_tickets,
                   coalesce(sum(b.ticket_count) FILTER (WHERE b.status = 'confirmed'), 0)::bigint,
                   coalesce(sum(b.total_amount) FILTER (WHERE b.status = 'confirmed'), 0)::numeric(14, 2),
                   count(b.id) FILTER (WHERE b.status = 'cancelled')
            FROM events e LEFT JOIN bookings b ON b.event_id = e.id WHERE e.created_by = $1 GROUP BY e.id
            """
        let events = try await postgres.query("\(perEvent) ORDER BY e.date_time DESC, e.id LIMIT $2 OFFSET $3", [user, page.limit, page.offset])
        let totals = try await postgres.query(
            "SELECT count(*), coalesce(sum(t.sold), 0)::bigint, coalesce(sum(t.revenue), 0)::numeric(14, 2)::text, coalesce(sum(t.cancelled), 0)::bigint FROM (\(perEvent)) AS t(id, title, date_time, total, sold, revenue, cancelled)",
            [user])[0]
        let days = try await postgres.query(
            """
            SELECT to_char(d.day, 'YYYY-MM-DD'), coalesce(sum(b.ticket_count), 0)::bigint, coalesce(sum(b.total_amount), 0)::numeric(14, 2)::text
            FROM generate_series(($2::timestamptz AT TIME ZONE 'UTC')::date, ($3::timestamptz AT TIME ZONE 'UTC')::date - 1, interval '1 day') AS d(day)
            LEFT JOIN bookings b ON b.status = 'confirmed' AND (b.booking_date AT TIME ZONE 'UTC')::date = d.day
                 AND b.event_id IN (SELECT id FROM events WHERE created_by = $1)
            GROUP BY d.day ORDER BY d.day
            """, [user, from, to])
        let daily: [HostAnalytics.Day] = try days.map {
            .init(date: try $0.decode(0), tickets: Int(try $0.decode(1, as: Int64.self)), revenue: try $0.decode(2))
        }
        return HostAnalytics(
            totals: .init(
                events: Int(try totals.decode(0, as: Int64.self)), tickets_sold: Int(try totals.decode(1, as: Int64.self)),
                revenue: try totals.decode(2), cancellations: Int(try totals.decode(3, as: Int64.self))),
            events: try events.map { row in
                let total: Int = try row.decode(3)
                let sold = Int(try row.decode(4, as: Int64.self))
                let revenue: PostgresNumeric = try row.decode(5)
                return .init(
                    id: try row.decode(0), title: try row.decode(1), date_time: try row.decode(2),
                    total_tickets: total, tickets_sold: sold, revenue: revenue.text, cancellations: Int(try row.decode(6, as: Int64.self)),
                    occupancy_percentage: PostgresNumeric(minorUnits: Int64((sold * 10_000 + total / 2) / max(total, 1)), scale: 2).text)
            },
            daily_sales: daily,
            range: ["from": daily.first?.date ?? "", "to": daily.last?.date ?? ""])
    }
}
