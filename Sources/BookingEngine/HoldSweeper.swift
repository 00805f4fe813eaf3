import EventAvailability
import Foundation
import HappeningPostgres
import Logging
import ServiceLifecycle

/// Cancels pending holds whose time has passed and returns their tickets. Each sweep is one statement:
/// it takes expired holds with `FOR UPDATE SKIP LOCKED` (so concurrent sweepers never take the same
/// booking), moves only `pending` ones to `cancelled`, and adds the tickets back per event.
public struct HoldSweeper: Service {
    let postgres: PostgresClient
    let notifier: AvailabilityNotifier
    let interval: Duration
    let logger: Logger

    public init(postgres: PostgresClient, notifier: AvailabilityNotifier, interval: Duration = .seconds(5), logger: Logger) {
        self.postgres = postgres
        self.notifier = notifier
        self.interval = interval
        self.logger = logger
    }

    /// One sweep; returns how many holds expired.
    @discardableResult
    public func sweep(limit: Int = 500) async throws -> Int {
        let rows = try await postgres.query(
            """
            WITH expired AS (
                SELECT id FROM bookings WHERE status = 'pending' AND hold_expires_at < now()
                ORDER BY hold_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED),
            -- The cancelled booking keeps its hold_expires_at: that is how a later payment attempt or the
            -- booking's owner is told the hold ran out (a cancellation by the user clears it).
            cancelled AS (
                UPDATE bookings b SET status = 'cancelled', updated_at = now()
                FROM expired WHERE b.id = expired.id AND b.status = 'pending'
                RETURNING b.event_id, b.ticket_count),
            returned AS (SELECT event_id, sum(ticket_count)::int AS n, count(*)::int AS holds FROM cancelled GROUP BY event_id),
            updated AS (
                -- LEAST: an event whose ledger is already broken (only the `unsafe` strategy can do that) must not
                -- make every sweep fail on the CHECK; its tickets stop at the total.
                UPDATE events e SET available_tickets = LEAST(e.total_tickets, e.available_tickets + returned.n), updated_at = now()
                FROM returned WHERE e.id = returned.event_id RETURNING e.id)
            SELECT returned.event_id, returned.holds FROM returned
            """, [limit])
        let events = Set(try rows.map { try $0.decode(0, as: UUID.self) })
        let holds = try rows.reduce(0) { $0 + (try $1.decode(1, as: Int.self)) }
        if holds > 0 {
            logger.info("expired holds released", metadata: ["holds": "\(holds)", "events": "\(events.count)"])
            await notifier.eventsChanged(events, logger: logger)
        }
        return holds
    }

    /// Sweeps every `interval` until shutdown.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await sweep() } catch { logger.warning("hold sweep failed", metadata: ["error": "\(error)"]) }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
