import BookingEngine
import EventAvailability
import Foundation
import HappeningAMQP
import HappeningModel
import HappeningPostgres
import Logging
import TestSupport

/// A scratch event and user in the test database, a queue of its own, and helpers to publish and drain.
struct WorkerFixture {
    let postgres: PostgresClient
    let queue: AMQPQueue
    let amqp: AMQPConfiguration
    let user: UUID
    var logger: Logger {
        var logger = Logger(label: "worker-test")
        logger.logLevel = .critical
        return logger
    }

    static func make() async throws -> WorkerFixture {
        let postgres = PostgresClient(configuration: .init(url: TestEnvironment.databaseURL, poolSize: 20))
        let user: UUID = try await postgres.query(
            "INSERT INTO users (email, password_hash, name) VALUES ($1, 'x', 'Buyer') RETURNING id",
            ["buyer-\(TestEnvironment.uniqueSuffix())@example.com"])[0].decode(0)
        return WorkerFixture(
            postgres: postgres, queue: AMQPQueue(name: "test.worker.\(TestEnvironment.uniqueSuffix())"),
            // Confirms wait as long as any other test wait: 6,000 persistent messages confirmed in one batch
            // took more than the 10 s production default on a loaded 2-core CI machine.
            amqp: try AMQPConfiguration(url: TestEnvironment.amqpURL, confirmTimeout: Patience.standard), user: user)
    }

    /// An approved event `daysAhead` days out with `total` tickets of which `available` are left.
    func event(
        total: Int, available: Int? = nil, price: String = "250.00", approved: Bool = true, cancelled: Bool = false,
        daysAhead: Double = 10
    ) async throws -> UUID {
        try await postgres.query(
            """
            INSERT INTO events (created_by, title, date_time, venue, total_tickets, available_tickets, price, category, approval_status, is_cancelled)
            VALUES ($1, 'Worker test', now() + make_interval(secs => $2), 'Hall', $3, $4, $5::numeric, 'music', $6::approval_status, $7)
            RETURNING id
            """, [user, daysAhead * 86_400, total, available ?? total, PostgresNumeric(price)!, approved ? "approved" : "pending", cancelled]
        )[0].decode(0)
    }

    func job(event: UUID, tickets: Int = 1, id: UUID = UUID()) -> BookingJob {
        BookingJob(booking_id: id, event_id: event, user_id: user, ticket_count: tickets, idempotency_key: nil, requested_at: Date())
    }

    /// Publishes every job (confirmed), concurrently.
    func publish(_ jobs: [BookingJob]) async throws {
        let publisher = AMQPPublisher(configuration: amqp, queue: queue)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for job in jobs {
                group.addTask { try await publisher.publish(AMQPMessage(id: job.booking_id.lowercasedText, body: try job.encoded())) }
            }
            try await group.waitForAll()
        }
        await publisher.shutdown()
    }

    /// Publishes raw bytes (for malformed messages).
    func publishRaw(_ bytes: [UInt8]) async throws {
        let publisher = AMQPPublisher(configuration: amqp, queue: queue)
        try await publisher.publish(AMQPMessage(id: "raw-\(TestEnvironment.uniqueSuffix())", body: bytes))
        await publisher.shutdown()
    }

    /// Messages ready in `queue` (the fixture's own queue unless named), through a publisher closed before it returns.
    func waiting(in queueName: String? = nil) async throws -> Int {
        let publisher = AMQPPublisher(configuration: amqp, queue: queue)
        do {
            let count = try await publisher.messageCount(queueName ?? queue.name)
            await publisher.shutdown()
            return count
        } catch {
            await publisher.shutdown()
            throw error
        }
    }

    /// Runs `consumers` worker instances (each with its own consumer connection) until `done` holds.
    func drain(
        strategy: BookingStrategy, consumers: Int = 4, prefetch: Int = 20, concurrency: Int = 2,
        until done: @escaping @Sendable () async throws -> Bool
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<consumers {
                let consumer = AMQPConsumer(configuration: amqp, queue: queue, prefetch: prefetch, logger: logger)
                let worker = BookingWorker(
                    consumer: consumer, decider: BookingDecider(postgres: postgres, strategy: strategy), concurrency: concurrency,
                    logger: logger)
                group.addTask { try await consumer.run() }
                group.addTask { try await worker.run() }
            }
            do {
                try await eventually("the workers to drain the queue", within: .seconds(300), every: .milliseconds(50), done)
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }

    /// Bookings of these ids that have a row.
    func decided(_ ids: [UUID]) async throws -> Int {
        try await postgres.query("SELECT count(*) FROM bookings WHERE id = ANY($1::uuid[])", [PostgresArray(ids)])[0].decode(0)
    }

    /// The ledger of one event: tickets held or sold, tickets available, total, and status counts.
    func ledger(_ event: UUID) async throws -> (held: Int, available: Int, total: Int, statuses: [String: Int]) {
        let totals = try await postgres.query(
            """
            SELECT COALESCE((SELECT sum(ticket_count) FROM bookings WHERE event_id = $1 AND status IN ('pending', 'confirmed')), 0)::int,
                   available_tickets, total_tickets FROM events WHERE id = $1
            """, [event])[0]
        var statuses: [String: Int] = [:]
        for row in try await postgres.query(
            "SELECT status::text || COALESCE('/' || failure_reason::text, ''), count(*)::int FROM bookings WHERE event_id = $1 GROUP BY 1", [event])
        {
            statuses[try row.decode(0)] = try row.decode(1)
        }
        return (try totals.decode(0), try totals.decode(1), try totals.decode(2), statuses)
    }

    func cleanUp() async {
        let publisher = AMQPPublisher(configuration: amqp, queue: queue)
        try? await publisher.deleteQueues()
        await publisher.shutdown()
        await postgres.shutdown()
    }
}
