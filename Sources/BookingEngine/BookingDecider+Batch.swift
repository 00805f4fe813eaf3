import EventAvailability
import Foundation
import HappeningModel
import HappeningPostgres

extension BookingDecider {
    /// Decides several jobs, outcomes in the jobs' order. With `batch` they are grouped by event and each
    /// group is decided under one lock in one transaction (first come, first served inside the group);
    /// with the other strategies each job is decided on its own, in order.
    public func decideAll(_ jobs: [BookingJob]) async throws -> [BookingOutcome] {
        guard strategy == .batch else {
            var outcomes: [BookingOutcome] = []
            for job in jobs { outcomes.append(try await decide(job)) }
            return outcomes
        }
        var outcomes = [BookingOutcome?](repeating: nil, count: jobs.count)
        var groups: [UUID: [Int]] = [:]
        var order: [UUID] = []
        for (index, job) in jobs.enumerated() {
            if groups[job.event_id] == nil { order.append(job.event_id) }
            groups[job.event_id, default: []].append(index)
        }
        for event in order {
            let indices = groups[event]!
            let decided = try await decideGroup(event: event, jobs: indices.map { jobs[$0] })
            for (index, outcome) in zip(indices, decided) { outcomes[index] = outcome }
        }
        return outcomes.map { $0! }
    }

    /// One event's jobs in one transaction: lock once, decide in order, one UPDATE, one bulk INSERT; after the COMMIT
    /// the new tickets left is published and every job's admission claim released.
    private func decideGroup(event: UUID, jobs: [BookingJob]) async throws -> [BookingOutcome] {
        try await ticketsLeft.change(releasing: claims(jobs), logger: logger) { change in
            let tx = change.connection
            let ids = PostgresArray(jobs.map { $0.booking_id })
            let known = Set(try await tx.query("SELECT id FROM bookings WHERE id = ANY($1::uuid[])", [ids]).map { try $0.decode(0, as: UUID.self) })
            let rows = try await tx.query(Self.eventState(locked: true), [event])
            let price: PostgresNumeric? = try rows.first?.decode(0)
            var available: Int = try rows.first?.decode(1) ?? 0
            let start = available
            let free = price.map { (try? $0.minorUnits(scale: 2)) == 0 } ?? false

            var held = perUserLimit > 0 ? try await Self.heldTickets(tx, event: event, users: jobs.map(\.user_id)) : [:]
            var outcomes: [BookingOutcome] = []
            var seen = Set<UUID>()
            var insert = BulkInsert()
            for job in jobs {
                guard !known.contains(job.booking_id), seen.insert(job.booking_id).inserted else {
                    change.republish(event)  // a redelivery: its first decision's publish may never have happened
                    outcomes.append(.alreadyDecided)
                    continue
                }
                let reason: BookingOutcome.FailureReason?
                if !(1...BookingJob.maximumTickets).contains(job.ticket_count) || rows.isEmpty {
                    reason = .invalid
                } else {
                    let row = rows[0]
                    reason =
                        Self.refusal(
                            available: available, approval: try row.decode(2), cancelled: try row.decode(3),
                            future: try row.decode(4), wanted: job.ticket_count)
                        ?? (perUserLimit > 0 && held[job.user_id, default: 0] + job.ticket_count > perUserLimit ? .ticketLimit : nil)
                }
                if let reason {
                    insert.add(job, event: rows.isEmpty ? nil : event, status: "failed", reason: reason.rawValue, amount: nil)
                    outcomes.append(.failed(reason))
                } else {
                    available -= job.ticket_count
                    held[job.user_id, default: 0] += job.ticket_count
                    insert.add(job, event: event, status: free ? "confirmed" : "pending", reason: nil, amount: price)
                    outcomes.append(free ? .confirmed : .held)
                }
            }
            if available != start { try await change.set(event, to: available) }
            if !insert.ids.isEmpty { try await insert.run(tx, holdMinutes: holdMinutes) }
            return outcomes
        }
    }
}

/// Column arrays for one `INSERT … SELECT FROM unnest(…)`.
private struct BulkInsert {
    var ids: [(any PostgresEncodable)?] = []
    var users: [(any PostgresEncodable)?] = []
    var events: [(any PostgresEncodable)?] = []
    var counts: [(any PostgresEncodable)?] = []
    var unitPrices: [(any PostgresEncodable)?] = []
    var statuses: [(any PostgresEncodable)?] = []
    var reasons: [(any PostgresEncodable)?] = []
    var keys: [(any PostgresEncodable)?] = []
    var requested: [(any PostgresEncodable)?] = []

    mutating func add(_ job: BookingJob, event: UUID?, status: String, reason: String?, amount: PostgresNumeric?) {
        ids.append(job.booking_id)
        users.append(job.user_id)
        events.append(event)
        counts.append(max(1, job.ticket_count))
        unitPrices.append(amount ?? PostgresNumeric("0")!)
        statuses.append(status)
        reasons.append(reason)
        keys.append(job.idempotency_key)
        requested.append(job.requested_at)
    }

    func run(_ tx: PostgresConnection, holdMinutes: Int) async throws {
        try await tx.query(
            """
            INSERT INTO bookings (id, user_id, event_id, ticket_count, total_amount, status, failure_reason, hold_expires_at,
                                  idempotency_key, booking_date, updated_at)
            SELECT b.id, b.user_id, b.event_id, b.n, CASE WHEN b.status = 'failed' THEN 0 ELSE b.unit * b.n END,
                   b.status::booking_status, b.reason::booking_failure_reason,
                   CASE WHEN b.status = 'pending' THEN now() + make_interval(mins => $10) END, b.key, b.requested, clock_timestamp()
            FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::numeric[], $6::text[], $7::text[], $8::text[], $9::timestamptz[])
                 AS b(id, user_id, event_id, n, unit, status, reason, key, requested)
            """,
            [
                PostgresArray(ids), PostgresArray(users), PostgresArray(events), PostgresArray(counts), PostgresArray(unitPrices),
                PostgresArray(statuses), PostgresArray(reasons), PostgresArray(keys), PostgresArray(requested), holdMinutes,
            ])
    }
}
