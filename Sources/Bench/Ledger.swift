import Foundation
import HappeningPostgres
import HappeningSystem

/// The no-oversell ledger of one event, read directly from PostgreSQL after a flash sale.
///
/// Invariants: tickets held (pending + confirmed) ≤ total; available + held = total; every accepted (202)
/// booking id exists exactly once with a decided status (none lost, none stuck in a queue); no booking the
/// API never accepted (phantom writes); held = min(accepted × tickets per request, total) when every
/// request was accepted; at most one booking per (user, idempotency key).
struct LedgerReport: Codable, Sendable {
    var event_id: String
    var total_tickets: Int
    var available_tickets: Int
    var held: Int
    var confirmed: Int
    var pending: Int
    var cancelled: Int
    var failed_sold_out: Int
    var failed_other: Int
    /// Accepted (202) booking ids the run knows of; nil for a standalone `check-ledger`.
    var accepted: Int?
    var decided: Int?
    var undecided: Int?
    var phantom: Int?
    var expected_held: Int?
    var oversold: Int
    var conservation_error: Int
    var held_mismatch: Int?
    var duplicate_idempotency_keys: Int
    /// 202 → decided (the booking row's write time), when the accepted times are known.
    var decision_latency: LatencySummary?
    var decision_histogram: EncodedHistogram?
    var decided_per_second: Double?
    var waited_seconds: Double
    var violations: [String]
    /// What was checked, broken or not (nil in results written before invariants were listed).
    var invariants: [Invariant]? = nil

    /// One invariant the ledger checked: its name, and what broke it (nil when it holds).
    struct Invariant: Codable, Sendable, Equatable {
        var name: String
        var violation: String?
        var passed: Bool { violation == nil }
    }

    var passed: Bool { violations.isEmpty }
}

/// Reads the ledger, waiting (bounded) for accepted bookings to be decided first.
struct LedgerChecker: Sendable {
    let databaseURL: String

    /// - Parameters:
    ///   - accepted: booking ids answered with 202 and when the 202 arrived (µs since 1970), or nil.
    ///   - ticketsPerRequest: tickets each booking asked for (for the expected number held).
    ///   - complete: every booking request got a definite answer (202, or 422 sold out); only then is the
    ///     number held predictable.
    ///   - soldOutAnswers: requests refused at intake as sold out (then every ticket must be held).
    func check(
        event: String, accepted: [Capture]?, ticketsPerRequest: Int, complete: Bool, soldOutAnswers: Int = 0, timeout: Duration,
        progress: ProgressStyle
    ) async throws -> LedgerReport {
        guard let eventID = UUID(uuidString: event) else { throw UsageError("ledger: '\(event)' is not an event id (UUID)") }
        let client = PostgresClient(configuration: .init(url: databaseURL, poolSize: 1, applicationName: "happening-bench-ledger"))
        do {
            let report = try await read(
                client, eventID: eventID, accepted: accepted, ticketsPerRequest: ticketsPerRequest,
                complete: complete, soldOutAnswers: soldOutAnswers, timeout: timeout, progress: progress)
            await client.shutdown()
            return report
        } catch let error as UsageError {
            await client.shutdown()
            throw error
        } catch {
            await client.shutdown()
            throw UsageError("ledger: cannot read PostgreSQL at \(Redact.url(databaseURL)) (\(error))")
        }
    }

    private func read(
        _ client: PostgresClient, eventID: UUID, accepted: [Capture]?, ticketsPerRequest: Int, complete: Bool, soldOutAnswers: Int,
        timeout: Duration, progress: ProgressStyle
    ) async throws -> LedgerReport {
        let ids = (accepted ?? []).compactMap { UUID(uuidString: $0.value) }
        let (decided, waited) = try await waitForDecisions(client, ids: ids, timeout: timeout, progress: progress)
        var report = try await counts(client, eventID: eventID)
        report.waited_seconds = (waited * 100).rounded() / 100
        if let accepted {
            report.accepted = ids.count
            report.decided = decided
            report.undecided = ids.count - decided
            report.phantom = try await client.query(
                "SELECT count(*) FROM bookings WHERE event_id = $1 AND NOT (id = ANY($2::uuid[]))", [eventID, PostgresArray(ids)])[0].decode(0)
            if complete {
                // Refusing anyone as sold out is only right once every ticket is held.
                report.expected_held = soldOutAnswers > 0 ? report.total_tickets : min(ids.count * ticketsPerRequest, report.total_tickets)
                report.held_mismatch = report.expected_held! - report.held
            }
            try await addDecisionLatency(client, accepted: accepted, ids: ids, to: &report)
        }
        let checked = invariants(of: report, ticketsPerRequest: ticketsPerRequest, soldOutAnswers: soldOutAnswers, timeout: timeout)
        report.invariants = checked
        report.violations = checked.compactMap(\.violation)
        return report
    }

    /// Waits until every accepted booking has its row, or `timeout` passes; returns how many have one and the
    /// seconds waited.
    private func waitForDecisions(_ client: PostgresClient, ids: [UUID], timeout: Duration, progress: ProgressStyle) async throws -> (Int, Double) {
        let started = ContinuousClock.now
        var decided = 0
        var lastShown = started
        while !ids.isEmpty {
            decided = try await client.query("SELECT count(*) FROM bookings WHERE id = ANY($1::uuid[])", [PostgresArray(ids)])[0].decode(0)
            if decided >= ids.count || ContinuousClock.now - started > timeout { break }
            if progress != .none, ContinuousClock.now - lastShown >= (progress == .live ? .milliseconds(200) : .seconds(2)) {
                lastShown = .now
                FileHandle.standardError.write(Data("bench: ledger: \(decided)/\(ids.count) accepted bookings decided\(progress == .live ? "\r" : "\n")".utf8))
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return (decided, (ContinuousClock.now - started).seconds)
    }

    /// The event's totals and its bookings counted by status: the invariants that need no accepted ids.
    private func counts(_ client: PostgresClient, eventID: UUID) async throws -> LedgerReport {
        let eventRows = try await client.query("SELECT total_tickets, available_tickets FROM events WHERE id = $1", [eventID])
        guard let eventRow = eventRows.first else { throw UsageError("ledger: event \(eventID.uuidString.lowercased()) does not exist") }
        let total: Int = try eventRow.decode(0)
        let available: Int = try eventRow.decode(1)
        var counts: [String: (rows: Int, tickets: Int)] = [:]
        for row in try await client.query(
            "SELECT status::text || coalesce('/' || failure_reason::text, ''), count(*), coalesce(sum(ticket_count), 0) FROM bookings WHERE event_id = $1 GROUP BY 1",
            [eventID])
        {
            counts[try row.decode(0)] = (try row.decode(1), try row.decode(2))
        }
        let held = (counts["pending"]?.tickets ?? 0) + (counts["confirmed"]?.tickets ?? 0)
        let duplicates: Int = try await client.query(
            """
            SELECT count(*) FROM (SELECT 1 FROM bookings WHERE event_id = $1 AND idempotency_key IS NOT NULL
                                  GROUP BY user_id, idempotency_key HAVING count(*) > 1) d
            """, [eventID])[0].decode(0)
        return LedgerReport(
            event_id: eventID.uuidString.lowercased(), total_tickets: total, available_tickets: available, held: held,
            confirmed: counts["confirmed"]?.rows ?? 0, pending: counts["pending"]?.rows ?? 0, cancelled: counts["cancelled"]?.rows ?? 0,
            failed_sold_out: counts["failed/sold_out"]?.rows ?? 0,
            failed_other: counts.filter { $0.key.hasPrefix("failed/") && $0.key != "failed/sold_out" }.reduce(0) { $0 + $1.value.rows },
            oversold: max(0, held - total), conservation_error: available + held - total, duplicate_idempotency_keys: duplicates,
            waited_seconds: 0, violations: [])
    }

    /// Decision latency: the row's write time (PostgreSQL's clock) minus the 202's arrival (ours; same host), and the
    /// decided bookings per second over the sale.
    private func addDecisionLatency(_ client: PostgresClient, accepted: [Capture], ids: [UUID], to report: inout LedgerReport) async throws {
        var histogram = LatencyHistogram()
        let acceptedAt = Dictionary(accepted.map { ($0.value.lowercased(), $0.at_micros) }, uniquingKeysWith: min)
        var lastDecision = Int64.min
        for row in try await client.query(
            "SELECT id, (extract(epoch FROM updated_at) * 1000000)::int8 FROM bookings WHERE id = ANY($1::uuid[])", [PostgresArray(ids)])
        {
            let id: UUID = try row.decode(0)
            let decidedAt: Int64 = try row.decode(1)
            lastDecision = max(lastDecision, decidedAt)
            if let at = acceptedAt[id.uuidString.lowercased()] { histogram.record(microseconds: UInt64(max(1, decidedAt - at))) }
        }
        guard histogram.count > 0 else { return }
        report.decision_latency = histogram.summary
        report.decision_histogram = histogram.encoded
        let first = accepted.map(\.at_micros).min() ?? lastDecision
        let span = Double(lastDecision - first) / 1e6
        report.decided_per_second = span > 0 ? (Double(report.decided ?? 0) / span * 10).rounded() / 10 : nil
    }

    /// Every invariant the ledger could check for this run, each with the words the reports print when it is broken.
    /// Without the accepted ids (a standalone `check-ledger`) the id-based ones are not checked and not listed.
    private func invariants(of report: LedgerReport, ticketsPerRequest: Int, soldOutAnswers: Int, timeout: Duration) -> [LedgerReport.Invariant] {
        let (held, total, available) = (report.held, report.total_tickets, report.available_tickets)
        typealias Invariant = LedgerReport.Invariant
        var checked = [
            Invariant(
                name: "held <= total (no oversell)",
                violation: report.oversold > 0 ? "OVERSOLD by \(report.oversold) tickets: \(held) held (pending + confirmed) > \(total) total" : nil),
            Invariant(
                name: "available + held = total",
                violation: report.conservation_error != 0
                    ? "tickets not conserved: available \(available) + held \(held) = \(available + held), not the total \(total)" : nil),
        ]
        if let undecided = report.undecided {
            checked.append(
                Invariant(
                    name: "every accepted (202) booking decided",
                    violation: undecided > 0 ? "\(undecided) accepted (202) bookings were never decided within \(Int(timeout.seconds)) s (lost or stuck)" : nil)
            )
        }
        if let phantom = report.phantom {
            checked.append(
                Invariant(
                    name: "no booking the API never accepted", violation: phantom > 0 ? "\(phantom) bookings exist that the API never accepted" : nil))
        }
        if let mismatch = report.held_mismatch, let expected = report.expected_held {
            let rule = soldOutAnswers > 0 ? "requests were refused as sold out, so every ticket" : "min(accepted × \(ticketsPerRequest), total)"
            checked.append(
                Invariant(name: "held = expected", violation: mismatch != 0 ? "held \(held) tickets, expected \(expected) (\(rule))" : nil))
        }
        checked.append(
            Invariant(
                name: "each idempotency key booked once",
                violation: report.duplicate_idempotency_keys > 0
                    ? "\(report.duplicate_idempotency_keys) idempotency keys booked more than once" : nil))
        return checked
    }
}
