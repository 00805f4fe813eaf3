import Foundation
import HappeningPostgres
import HappeningSystem

/// The no-oversell ledger of one event, read directly from PostgreSQL after a flash sale.
///
/// Invariants: tickets held ≤ total; available + held = total; and, when the run knows its accepted (202) bookings,
/// either **by id** (the 202 carries the booking id and the schema names the id column): every accepted booking
/// exists exactly once with a decided status (none lost, none stuck in a queue) and no booking the API never
/// accepted (phantom writes); or **by count** (no id): as many decided bookings as 202s (when refusals leave a row)
/// and no more bookings than 202s. Then held = min(accepted × tickets per request, total) when every request was
/// answered definitely; one booking per user where that is the rule; each (user, idempotency key) booked once.
struct LedgerReport: Codable, Sendable {
    var event_id: String
    /// Where the figures came from: Happening's schema, a mapping, or the scenario's SQL.
    var source: String? = nil
    /// `ids` or `counts`: how accepted bookings were followed (nil for a standalone `check-ledger`).
    var method: LedgerMethod? = nil
    var total_tickets: Int
    var available_tickets: Int
    var held: Int
    /// Booking rows of the event, and by status label (`failed/sold_out` when the schema has a reason column).
    var bookings: Int? = nil
    var statuses: [String: Int]? = nil
    /// Accepted (202) bookings the run counted; nil for a standalone `check-ledger`.
    var accepted: Int?
    var decided: Int?
    var undecided: Int?
    var phantom: Int?
    /// Bookings beyond the number of 202s (count-based).
    var excess_bookings: Int? = nil
    var expected_held: Int?
    var oversold: Int
    var conservation_error: Int
    var held_mismatch: Int?
    var duplicate_idempotency_keys: Int?
    /// Users holding more than one booking where one per user is the rule.
    var duplicate_users: Int? = nil
    /// Request sent → decided (the booking row's decision time), when the accepted bookings are followed by id.
    var decision_latency: LatencySummary?
    var decision_histogram: EncodedHistogram?
    var decided_per_second: Double?
    var waited_seconds: Double
    var violations: [String]
    /// Tickets held at the end by each lane's own users (lanes with `users:`), when the schema names the user column.
    var lanes: [LaneTickets]? = nil
    /// The most tickets one user holds at the end (the per-user cap, seen from the database).
    var max_tickets_per_user: Int? = nil
    /// What was checked, broken or not (nil in results written before invariants were listed).
    var invariants: [Invariant]? = nil

    /// One invariant the ledger checked: its name, and what broke it (nil when it holds).
    struct Invariant: Codable, Sendable, Equatable {
        var name: String
        var violation: String?
        var passed: Bool { violation == nil }
    }

    var passed: Bool { violations.isEmpty }

    /// The rows by status, largest first (`confirmed 10 · failed/sold_out 990`).
    var statusText: String {
        guard let statuses, !statuses.isEmpty else { return bookings.map { "\($0)" } ?? "–" }
        return statuses.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \($0.value)" }.joined(separator: " · ")
    }
}

/// What one lane's users hold of the event at the end: who won the sale.
struct LaneTickets: Codable, Sendable, Equatable {
    var lane: String
    /// The lane's virtual users.
    var users: Int
    var tickets_won: Int
    /// Its share of every ticket held (0…1).
    var share: Double
    /// The most one of its users holds.
    var max_per_user: Int

    /// Each lane's tickets from the tickets each user holds (`held`, by lowercase user id) and the lanes' users.
    static func lanes(_ names: [String], users: [[String]], held: [String: Int]) -> [LaneTickets] {
        let total = held.values.reduce(0, +)
        return zip(names, users).map { name, ids in
            let counts = ids.map { held[$0.lowercased()] ?? 0 }
            let won = counts.reduce(0, +)
            return LaneTickets(
                lane: name, users: ids.count, tickets_won: won, share: total > 0 ? Double(won) / Double(total) : 0, max_per_user: counts.max() ?? 0)
        }
    }
}

/// How a run's accepted bookings were matched with the database.
enum LedgerMethod: String, Codable, Sendable {
    /// Each 202 carried the booking's id: followed one by one.
    case ids
    /// The 202s carried no id (or the schema names no id column): compared as counts.
    case counts
}

/// Reads the ledger, waiting (bounded) for accepted bookings to be decided first.
struct LedgerChecker: Sendable {
    let databaseURL: String
    /// Where the figures come from (Happening's schema unless the scenario maps another).
    var source: LedgerSource = .mapped(.happening)

    /// What one check is given about the run.
    struct Run: Sendable {
        /// One capture per 202 of a booking request (its id when the answer carried one, else empty) and when the
        /// 202 arrived (µs since 1970); nil when the run is unknown (a standalone `check-ledger`).
        var accepted: [Capture]?
        /// Tickets each booking asked for (for the expected number held).
        var ticketsPerRequest = 1
        /// Every booking request got a definite answer (202, or 422 sold out): only then is the number held predictable.
        var complete = false
        /// Requests refused at intake as sold out (then every ticket must be held).
        var soldOutAnswers = 0
        var timeout: Duration = .seconds(60)
    }

    func check(event: String, run: Run, progress: ProgressStyle) async throws -> LedgerReport {
        try await withClient { try await read($0, event: event, run: run, progress: progress) }
    }

    /// Tickets each user holds of the event (lowercase user id → tickets); nil when the schema names no user column.
    func ticketsByUser(event: String) async throws -> [String: Int]? {
        try await withClient { client in try await LedgerReader.make(source, client: client).heldByUser(event: try normalizedEvent(event)) }
    }

    /// Reads the figures once before the load: a wrong mapping, a query missing a column or an event that is not
    /// there stops the run before it spends its time, not after.
    func preflight(event: String) async throws {
        try await withClient { client in
            _ = try await LedgerReader.make(source, client: client).figures(event: try normalizedEvent(event))
        }
    }

    /// Ours is keyed by UUID (checked and lowercased); another schema's key is passed as written.
    private func normalizedEvent(_ event: String) throws -> String {
        guard source == .mapped(.happening) else { return event }
        guard let id = UUID(uuidString: event) else { throw UsageError("ledger: '\(event)' is not an event id (UUID)") }
        return id.uuidString.lowercased()
    }

    /// A one-connection client for `body`, shut down after it; errors other than usage errors name the database
    /// without its password.
    private func withClient<T: Sendable>(_ body: (PostgresClient) async throws -> T) async throws -> T {
        let client = PostgresClient(configuration: .init(url: databaseURL, poolSize: 1, applicationName: "happening-bench-ledger"))
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch let error as UsageError {
            await client.shutdown()
            throw error
        } catch {
            await client.shutdown()
            throw UsageError("ledger: cannot read PostgreSQL at \(Redact.url(databaseURL)) (\(error))")
        }
    }

    private func read(_ client: PostgresClient, event: String, run: Run, progress: ProgressStyle) async throws -> LedgerReport {
        let event = try normalizedEvent(event)
        let reader = try await LedgerReader.make(source, client: client)
        let captures = run.accepted ?? []
        let ids = reader.normalized(captures.map(\.value).filter { !$0.isEmpty })
        let method: LedgerMethod? = run.accepted == nil ? nil : (reader.followsIDs && !captures.isEmpty && ids.count == captures.count ? .ids : .counts)
        let waited = try await waitForDecisions(reader, event: event, accepted: captures.count, ids: method == .ids ? ids : nil, run: run, progress: progress)
        let figures = try await reader.figures(event: event)
        var report = LedgerReport(
            event_id: event, source: source.label, method: method, total_tickets: figures.total, available_tickets: figures.available,
            held: figures.held, bookings: figures.bookings, statuses: figures.statuses, accepted: nil, decided: nil, undecided: nil, phantom: nil,
            expected_held: nil, oversold: max(0, figures.held - figures.total), conservation_error: figures.available + figures.held - figures.total,
            held_mismatch: nil, duplicate_idempotency_keys: figures.duplicateKeys, duplicate_users: figures.duplicateUsers, decision_latency: nil,
            decision_histogram: nil, decided_per_second: nil, waited_seconds: (waited * 100).rounded() / 100, violations: [])
        switch method {
        case .ids?:
            report.accepted = captures.count
            report.decided = try await reader.decided(ids: ids)
            report.undecided = ids.count - report.decided!
            report.phantom = try await reader.phantom(event: event, ids: ids)
            try await addDecisionLatency(reader, accepted: captures, ids: ids, to: &report)
        case .counts?:
            report.accepted = captures.count
            report.decided = figures.decided
            report.undecided = reader.recordsRefusals ? max(0, captures.count - figures.decided) : figures.bookings - figures.decided
        case nil: break
        }
        if method != nil { report.excess_bookings = max(0, figures.bookings - captures.count) }
        if method != nil, run.complete {
            // Refusing anyone as sold out is only right once every ticket is held.
            report.expected_held = run.soldOutAnswers > 0 ? figures.total : min(captures.count * run.ticketsPerRequest, figures.total)
            report.held_mismatch = report.expected_held! - figures.held
        }
        let checked = LedgerInvariants.check(report, recordsRefusals: reader.recordsRefusals, run: run)
        report.invariants = checked
        report.violations = checked.compactMap(\.violation)
        return report
    }

    /// Waits until every accepted booking is decided, or `timeout` passes; returns the seconds waited. By id: each
    /// accepted id has a decided row. By count: as many decided rows as 202s — or, where a refusal leaves no row,
    /// nothing in flight and the counts still for two seconds.
    private func waitForDecisions(
        _ reader: LedgerReader, event: String, accepted: Int, ids: [String]?, run: Run, progress: ProgressStyle
    ) async throws -> Double {
        let started = ContinuousClock.now
        var lastShown = started
        var lastChange = (decided: -1, at: started)
        while accepted > 0 {
            let decided: Int
            if let ids {
                decided = try await reader.decided(ids: ids)
                if decided >= ids.count { break }
            } else {
                let figures = try await reader.figures(event: event)
                decided = figures.decided
                if decided >= accepted { break }
                if decided != lastChange.decided { lastChange = (decided, .now) }
                if !reader.recordsRefusals, figures.bookings == decided, ContinuousClock.now - lastChange.at >= .seconds(2) { break }
            }
            if ContinuousClock.now - started > run.timeout { break }
            if progress != .none, ContinuousClock.now - lastShown >= (progress == .live ? .milliseconds(200) : .seconds(2)) {
                lastShown = .now
                FileHandle.standardError.write(Data("bench: ledger: \(decided)/\(accepted) accepted bookings decided\(progress == .live ? "\r" : "\n")".utf8))
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return (ContinuousClock.now - started).seconds
    }

    /// Decision latency: the row's decision time (PostgreSQL's clock) minus when the request was sent (ours; same
    /// host), and the decided bookings per second from the first request to the last decision.
    private func addDecisionLatency(_ reader: LedgerReader, accepted: [Capture], ids: [String], to report: inout LedgerReport) async throws {
        var histogram = LatencyHistogram()
        let acceptedAt = Dictionary(
            accepted.compactMap { capture in reader.normalized([capture.value]).first.map { ($0, capture.sent_micros ?? capture.at_micros) } },
            uniquingKeysWith: min)
        var lastDecision = Int64.min
        for (id, decidedAt) in try await reader.decisionTimes(ids: ids) {
            lastDecision = max(lastDecision, decidedAt)
            if let at = acceptedAt[id] { histogram.record(microseconds: UInt64(max(1, decidedAt - at))) }
        }
        guard histogram.count > 0 else { return }
        report.decision_latency = histogram.summary
        report.decision_histogram = histogram.encoded
        let first = accepted.map { $0.sent_micros ?? $0.at_micros }.min() ?? lastDecision
        let span = Double(lastDecision - first) / 1e6
        report.decided_per_second = span > 0 ? (Double(report.decided ?? 0) / span * 10).rounded() / 10 : nil
    }
}
