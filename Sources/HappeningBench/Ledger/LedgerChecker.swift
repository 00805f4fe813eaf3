import Foundation
import HappeningCommandLine
import HappeningPostgres
import HappeningSystem

/// Reads the ledger, waiting (bounded) for accepted bookings to be decided first.
package struct LedgerChecker: Sendable {
    let databaseURL: String
    /// Where the figures come from (Happening's schema unless the scenario maps another).
    var source: LedgerSource = .mapped(.happening)

    package init(databaseURL: String, source: LedgerSource = .mapped(.happening)) { (self.databaseURL, self.source) = (databaseURL, source) }

    /// What one check is given about the run.
    package struct Run: Sendable {
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

        package init(
            accepted: [Capture]?, ticketsPerRequest: Int = 1, complete: Bool = false, soldOutAnswers: Int = 0, timeout: Duration = .seconds(60)
        ) {
            (self.accepted, self.ticketsPerRequest, self.complete, self.soldOutAnswers, self.timeout) = (
                accepted, ticketsPerRequest, complete, soldOutAnswers, timeout
            )
        }
    }

    package func check(event: String, run: Run, progress: ProgressStyle) async throws -> LedgerReport {
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
