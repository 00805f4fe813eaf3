import HappeningPostgres

/// How a text search sorted by date is answered without reading every match.
///
/// A common word matches thousands of events and a rare one a handful, and PostgreSQL estimates both alike
/// (`ILIKE` patterns have no statistics), so no single plan suits both. The search tries the cheap plan for
/// common words first: walk the homepage index in date order over the earliest `window` upcoming events that
/// pass the other filters, and keep the matches. If the window holds the whole page (and its look-ahead
/// row), those are exactly the first matches in date order. Otherwise the words are rare, and the trigram
/// indexes (`events_title_trgm_idx`, `events_description_trgm_idx`) find every match, which are few, and
/// they are sorted. Patterns under three characters give trigrams nothing to select; they are short enough
/// to be common, and a rare one costs a scan.
enum TextSearchPlan {
    /// The earliest upcoming events read before falling back to the trigram indexes.
    static func window(for search: EventSearch) -> Int { min(20_000, max(2_000, (search.offset + search.page.limit + 1) * 50)) }

    /// The matches among the earliest `window` upcoming events (by the homepage index), in date order.
    static func earliestSQL(_ search: EventSearch, text: String, window: Int) -> (String, PostgresBindings) {
        var (conditions, bindings) = search.conditions(includingText: false)
        func bind(_ value: any PostgresEncodable) -> String {
            bindings.append(value)
            return "$\(bindings.count)"
        }
        let windowParameter = bind(window)
        let matches = EventSearch.textCondition(text, table: "e", bind: bind)
        let sql = """
            SELECT \(EventRecord.columns), NULL::float8 AS distance_m
            FROM (SELECT * FROM events e WHERE \(conditions.joined(separator: " AND ")) ORDER BY e.date_time, e.id LIMIT \(windowParameter)) e
            LEFT JOIN users u ON u.id = e.created_by
            WHERE \(matches)
            ORDER BY e.date_time, e.id
            LIMIT \(bind(search.page.limit + 1)) OFFSET \(bind(search.offset))
            """
        return (sql, bindings)
    }

    /// Every match through the trigram indexes (a materialised set, so no date-order walk is planned), then sorted.
    static func trigramSQL(_ search: EventSearch) -> (String, PostgresBindings) {
        var (conditions, bindings) = search.conditions()
        func bind(_ value: any PostgresEncodable) -> String {
            bindings.append(value)
            return "$\(bindings.count)"
        }
        let order = search.sort == .price ? "e.price, e.date_time, e.id" : "e.date_time, e.id"
        let sql = """
            WITH matches AS MATERIALIZED (SELECT e.id FROM events e WHERE \(conditions.joined(separator: " AND ")))
            SELECT \(EventRecord.columns), NULL::float8 AS distance_m
            FROM matches m JOIN events e ON e.id = m.id LEFT JOIN users u ON u.id = e.created_by
            ORDER BY \(order)
            LIMIT \(bind(search.page.limit + 1)) OFFSET \(bind(search.offset))
            """
        return (sql, bindings)
    }
}
