import EventAvailability
import Foundation
import HappeningPostgres
import Logging
import ServiceLifecycle

/// Cancels pending holds whose time has passed and returns their tickets, in one transaction per sweep: it takes
/// expired holds with `FOR UPDATE SKIP LOCKED` (so concurrent sweepers never take the same booking), moves only
/// `pending` ones to `cancelled`, then gives the tickets back (``TicketsLeftTransaction/giveBack(_:)`` locks the events
/// in id order) and publishes the new values after the commit.
/// Sweepers therefore never wait on each other in a cycle; a writer that takes the other order (an event's
/// cancellation locks the event, then its bookings) still can, and PostgreSQL then fails one side with 40P01:
/// a sweep retries such transient failures a few times before giving up until its next round.
public struct HoldSweeper: Service {
    let ticketsLeft: TicketsLeft
    let interval: Duration
    let logger: Logger

    public init(postgres: PostgresClient, notifier: AvailabilityNotifier, interval: Duration = .seconds(5), logger: Logger) {
        self.ticketsLeft = TicketsLeft(postgres: postgres, notifier: notifier)
        self.interval = interval
        self.logger = logger
    }

    /// One sweep; returns how many holds expired. A deadlock, serialization failure or dropped connection is
    /// retried (up to `attempts` tries, a short growing pause between them); other errors are thrown.
    @discardableResult
    public func sweep(limit: Int = 500, attempts: Int = 5) async throws -> Int {
        var attempt = 1
        while true {
            do {
                return try await sweepOnce(limit: limit)
            } catch let error as PostgresError where error.isTransient && attempt < attempts {
                logger.debug("hold sweep retried", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                try await Task.sleep(for: .milliseconds(10 * attempt))
                attempt += 1
            }
        }
    }

    private func sweepOnce(limit: Int) async throws -> Int {
        let (holds, events) = try await ticketsLeft.change(logger: logger) { tx -> (Int, Int) in
            let rows = try await tx.connection.query(
                """
                WITH expired AS (
                    SELECT id FROM bookings WHERE status = 'pending' AND hold_expires_at < now()
                    ORDER BY hold_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED),
                -- The cancelled booking keeps its hold_expires_at: that is how a later payment attempt or the
                -- booking's owner is told the hold ran out (a cancellation by the user clears it).
                cancelled AS (
                    UPDATE bookings b SET status = 'cancelled', updated_at = now()
                    FROM expired WHERE b.id = expired.id AND b.status = 'pending'
                    RETURNING b.event_id, b.ticket_count)
                SELECT event_id, sum(ticket_count)::int, count(*)::int FROM cancelled GROUP BY event_id ORDER BY event_id
                """, [limit])
            var returned: [UUID: Int] = [:]
            var holds = 0
            for row in rows {
                returned[try row.decode(0)] = try row.decode(1)
                holds += try row.decode(2, as: Int.self)
            }
            try await tx.giveBack(returned)
            return (holds, returned.count)
        }
        if holds > 0 { logger.info("expired holds released", metadata: ["holds": "\(holds)", "events": "\(events)"]) }
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
