import Foundation
import HappeningModel
import HappeningPostgres
import Logging

/// The one way `events.available_tickets` changes once an event exists: a transaction whose statements that
/// change it go through a ``TicketsLeftTransaction``, committed and then published in one call (``change(releasing:logger:_:)``).
///
/// Each of those statements returns the rows' new tickets left and `availability_version`, and exactly those values
/// are published after the COMMIT (with the admission claims the caller decided, in the same Redis script): no second
/// read, and no writer that forgets to publish. A publish that fails is retried by the ``AvailabilityNotifier``.
public struct TicketsLeft: Sendable {
    let postgres: PostgresClient
    let notifier: AvailabilityNotifier

    /// - Parameters:
    ///   - postgres: where the transactions run.
    ///   - notifier: publishes the committed values (``AvailabilityNotifier/disabled`` publishes nothing).
    public init(postgres: PostgresClient, notifier: AvailabilityNotifier) {
        self.postgres = postgres
        self.notifier = notifier
    }

    /// Runs `body` in one transaction and, after its COMMIT, publishes every value its changes returned and releases
    /// `claims` (one Redis script). A transaction that rolls back publishes and releases nothing.
    public func change<T: Sendable>(
        releasing claims: [AdmissionClaim] = [], logger: Logger, _ body: (TicketsLeftTransaction) async throws -> T
    ) async throws -> T {
        let (value, changes) = try await postgres.withTransaction { connection in
            let transaction = TicketsLeftTransaction(connection)
            let value = try await body(transaction)
            return (value, transaction.changes)
        }
        await notifier.publish(changes.values, rereading: changes.reread, releasing: claims, logger: logger)
        return value
    }

    /// Publishes the events' current values, read now, releasing `claims` (a redelivered job whose transaction lost to
    /// another delivery of it: that one's publish may not have happened yet).
    public func republish(_ events: Set<UUID>, releasing claims: [AdmissionClaim], logger: Logger) async {
        await notifier.publish([:], rereading: events, releasing: claims, logger: logger)
    }

    /// Releases admission claims without a change (bookings dead-lettered: they claim nothing any more).
    public func release(_ claims: [AdmissionClaim], logger: Logger) async {
        await notifier.publish([:], rereading: [], releasing: claims, logger: logger)
    }
}

/// What one transaction changed: the values its statements returned, and events to read again after the commit.
struct TicketsLeftChanges: Sendable {
    var values: [UUID: Availability] = [:]
    var reread = Set<UUID>()

    /// Keeps the later of two values for one event (a transaction may change an event twice).
    mutating func record(_ event: UUID, _ value: Availability) {
        if let held = values[event], held.version > value.version { return }
        values[event] = value
    }
}

/// The statements that change tickets left, inside one transaction (``TicketsLeft/change(releasing:logger:_:)``).
/// Every one returns `(id, available_tickets, availability_version)` of the rows it changed; other statements run on
/// ``connection``.
public final class TicketsLeftTransaction {
    /// The transaction's connection, for every statement that does not change tickets left.
    public let connection: PostgresConnection
    private(set) var changes = TicketsLeftChanges()

    init(_ connection: PostgresConnection) { self.connection = connection }

    private static let returning = "RETURNING id, available_tickets, availability_version"

    /// Takes `tickets` of `event` in one conditional statement, when it is approved, not cancelled, in the future and
    /// has them (no explicit lock); returns its price (nil: refused, nothing changed).
    public func takeIfBookable(_ tickets: Int, of event: UUID) async throws -> PostgresNumeric? {
        let rows = try await connection.query(
            """
            UPDATE events SET available_tickets = available_tickets - $2, updated_at = now()
            WHERE id = $1 AND available_tickets >= $2 AND approval_status = 'approved' AND NOT is_cancelled AND date_time > now()
            \(Self.returning), price::text
            """, [event, tickets])
        try record(rows)
        return try rows.first?.decode(3)
    }

    /// Takes `tickets` of `event`, whose row the caller locked and checked.
    public func take(_ tickets: Int, of event: UUID) async throws {
        try record(
            try await connection.query(
                "UPDATE events SET available_tickets = available_tickets - $2, updated_at = now() WHERE id = $1 \(Self.returning)",
                [event, tickets]))
    }

    /// Writes `available` as the event's tickets left (a decision over a row the caller read: the batch strategy
    /// under its lock, the `unsafe` strategy without one).
    public func set(_ event: UUID, to available: Int) async throws {
        try record(
            try await connection.query(
                "UPDATE events SET available_tickets = $2, updated_at = now() WHERE id = $1 \(Self.returning)", [event, available]))
    }

    /// Gives tickets back to their events (cancellations, expired holds, a booking over its user's cap), locking the
    /// events in id order first so two such transactions never wait on each other in a cycle. `LEAST`: an event whose
    /// ledger is already broken (only the `unsafe` strategy can do that) stops at its total instead of failing the CHECK.
    public func giveBack(_ tickets: [UUID: Int]) async throws {
        let returned = tickets.filter { $0.value > 0 }.sorted { $0.key.uuidString < $1.key.uuidString }
        guard !returned.isEmpty else { return }
        let events = PostgresArray(returned.map(\.key))
        try await connection.query("SELECT id FROM events WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE", [events])
        try record(
            try await connection.query(
                """
                UPDATE events e SET available_tickets = LEAST(e.total_tickets, e.available_tickets + r.n), updated_at = now()
                FROM unnest($1::uuid[], $2::int[]) AS r(id, n) WHERE e.id = r.id
                RETURNING e.id, e.available_tickets, e.availability_version
                """, [events, PostgresArray(returned.map(\.value))]))
    }

    /// Sets the event's total; its tickets left move by the same amount (the caller checked the total is not below what
    /// is sold or held).
    public func resize(_ event: UUID, total: Int) async throws {
        try record(
            try await connection.query(
                """
                UPDATE events SET available_tickets = available_tickets + ($2 - total_tickets), total_tickets = $2, updated_at = now()
                WHERE id = $1 \(Self.returning)
                """, [event, total]))
    }

    /// Publishes the event's current value after the commit, read then (a redelivered job decided before: its first
    /// decision's publish may never have happened).
    public func republish(_ event: UUID) { changes.reread.insert(event) }

    private func record(_ rows: PostgresRows) throws {
        for row in rows {
            changes.record(try row.decode(0), Availability(available: try row.decode(1), version: try row.decode(2)))
        }
    }
}
