import BookingEngine
import EventAvailability
import Foundation
import HappeningAMQP
import HappeningModel
import HappeningPostgres
import Logging
import TestSupport
import Testing

@Suite("Booking worker: outcomes, delivery guarantees, holds", .timeLimit(.minutes(10)))
struct WorkerBehaviourTests {
    @Test("outcomes: paid → pending with a hold, free → confirmed, past, unavailable, unknown and invalid → failed with a reason")
    func outcomes() async throws {
        let fixture = try await WorkerFixture.make()
        let paid = try await fixture.event(total: 10, price: "499.50")
        let free = try await fixture.event(total: 10, price: "0")
        let past = try await fixture.event(total: 10, daysAhead: -1)
        let pending = try await fixture.event(total: 10, approved: false)
        let cancelled = try await fixture.event(total: 10, cancelled: true)
        let cases: [(BookingJob, BookingOutcome)] = [
            (fixture.job(event: paid, tickets: 2), .held), (fixture.job(event: free), .confirmed),
            (fixture.job(event: past), .failed(.eventPast)), (fixture.job(event: pending), .failed(.eventUnavailable)),
            (fixture.job(event: cancelled), .failed(.eventUnavailable)), (fixture.job(event: UUID()), .failed(.invalid)),
            (fixture.job(event: paid, tickets: 11), .failed(.invalid)),
        ]
        for strategy in [BookingStrategy.forUpdate, .conditionalUpdate, .batch] {
            let decider = BookingDecider(postgres: fixture.postgres, strategy: strategy, holdMinutes: 15)
            for (job, expected) in cases {
                var fresh = job
                fresh.booking_id = UUID()
                #expect(try await decider.decide(fresh) == expected, "\(strategy): \(expected)")
            }
        }
        let hold = try await fixture.postgres.query(
            "SELECT total_amount::text, hold_expires_at > now() + interval '14 minutes' FROM bookings WHERE event_id = $1 AND status = 'pending' LIMIT 1",
            [paid])
        #expect(try hold[0].decode(0) == "999.00")
        #expect(try hold[0].decode(1) == true)
        await fixture.cleanUp()
    }

    @Test("attack: one account's parallel jobs never hold more than the per-user cap of an event, with every strategy")
    func perUserCap() async throws {
        let fixture = try await WorkerFixture.make()
        for strategy in [BookingStrategy.forUpdate, .conditionalUpdate, .batch] {
            let event = try await fixture.event(total: 200)
            let decider = BookingDecider(postgres: fixture.postgres, strategy: strategy, perUserLimit: 10)
            let jobs = (0..<20).map { _ in fixture.job(event: event, tickets: 3) }
            let outcomes = try await withThrowingTaskGroup(of: BookingOutcome.self) { group in
                for job in jobs { group.addTask { try await decider.decide(job) } }
                return try await group.reduce(into: [BookingOutcome]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == .held }.count == 3, "\(strategy): 3 × 3 tickets fit under 10")
            #expect(outcomes.filter { $0 == .failed(.ticketLimit) }.count == 17, "\(strategy)")
            let ledger = try await fixture.ledger(event)
            #expect(ledger.held == 9 && ledger.available == 191, "\(strategy): \(ledger)")
        }
        // A batch of one user's jobs decided together counts its own earlier jobs too.
        let event = try await fixture.event(total: 200)
        let batched = try await BookingDecider(postgres: fixture.postgres, strategy: .batch, perUserLimit: 10)
            .decideAll((0..<6).map { _ in fixture.job(event: event, tickets: 4) })
        #expect(batched == [.held, .held, .failed(.ticketLimit), .failed(.ticketLimit), .failed(.ticketLimit), .failed(.ticketLimit)])
        #expect(try await fixture.ledger(event).held == 8)
        await fixture.cleanUp()
    }

    @Test("a redelivered job is recognised by its booking id and not booked twice")
    func redelivery() async throws {
        let fixture = try await WorkerFixture.make()
        let event = try await fixture.event(total: 10)
        let job = fixture.job(event: event, tickets: 3)
        try await fixture.publish([job, job, job])  // the same job three times, as after crashes
        try await fixture.drain(strategy: .forUpdate) {
            let decided = try await fixture.decided([job.booking_id])
            let waiting = try await fixture.waiting()
            return decided == 1 && waiting == 0
        }
        let ledger = try await fixture.ledger(event)
        #expect(ledger.held == 3 && ledger.available == 7, "\(ledger)")
        for strategy in [BookingStrategy.forUpdate, .conditionalUpdate, .batch] {
            #expect(try await BookingDecider(postgres: fixture.postgres, strategy: strategy).decide(job) == .alreadyDecided)
        }
        await fixture.cleanUp()
    }

    @Test("a malformed message goes to the dead-letter queue and the worker keeps consuming")
    func malformed() async throws {
        let fixture = try await WorkerFixture.make()
        let event = try await fixture.event(total: 10)
        try await fixture.publishRaw(Array("{not json".utf8))
        try await fixture.publishRaw(Array(#"{"booking_id":"nope"}"#.utf8))
        let good = fixture.job(event: event)
        try await fixture.publish([good])
        try await fixture.drain(strategy: .forUpdate, consumers: 1, prefetch: 1, concurrency: 1) {
            try await fixture.decided([good.booking_id]) == 1
        }
        let dead = try await eventually("both malformed messages in the dead-letter queue") {
            try await fixture.waiting(in: fixture.queue.deadLetterQueue)
        } until: {
            $0 >= 2
        }
        #expect(dead == 2)
        await fixture.cleanUp()
    }

    @Test("an expired hold returns its tickets once (concurrent sweepers) and can no longer be confirmed")
    func holdExpiry() async throws {
        let fixture = try await WorkerFixture.make()
        let event = try await fixture.event(total: 10)
        let decider = BookingDecider(postgres: fixture.postgres, strategy: .forUpdate, holdMinutes: 15)
        let job = fixture.job(event: event, tickets: 4)
        let kept = fixture.job(event: event, tickets: 4)
        #expect(try await decider.decide(job) == .held)
        #expect(try await decider.decide(kept) == .held)
        #expect(try await fixture.ledger(event).available == 2)
        try await fixture.postgres.query("UPDATE bookings SET hold_expires_at = now() - interval '1 second' WHERE id = $1", [job.booking_id])
        var logger = Logger(label: "sweeper-test")
        logger.logLevel = .critical
        let sweeper = HoldSweeper(postgres: fixture.postgres, notifier: AvailabilityNotifier.disabled, logger: logger)
        // Four sweepers at once, round after round, until the hold is swept (the shared test database holds other
        // tests' expired holds too, and other tests' sweepers may take this one: the ledger says what happened).
        // The other hold keeps 4 tickets, so a hold returned twice would show as 10 left instead of 6.
        let ledger = try await eventually("the expired hold swept") {
            for _ in 0..<100 {
                let round = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<4 { group.addTask { try await sweeper.sweep() } }
                    return try await group.reduce(0, +)
                }
                if round == 0 { break }
            }
            return try await fixture.ledger(event)
        } until: {
            $0.statuses["cancelled"] == 1
        }
        #expect(ledger.available == 6 && ledger.held == 4, "\(ledger)")
        let confirmed = try await fixture.postgres.query(
            "UPDATE bookings SET status = 'confirmed', hold_expires_at = NULL WHERE id = $1 AND status = 'pending'", [job.booking_id])
        #expect(confirmed.affectedRows == 0, "an expired hold must not be confirmable")
        await fixture.cleanUp()
    }

    @Test("a sweep caught in a deadlock (an event locked, then its expired hold wanted) retries instead of failing")
    func sweepDeadlock() async throws {
        let fixture = try await WorkerFixture.make()
        let event = try await fixture.event(total: 10)
        let job = fixture.job(event: event, tickets: 2)
        #expect(try await BookingDecider(postgres: fixture.postgres, strategy: .forUpdate, holdMinutes: 15).decide(job) == .held)
        var logger = Logger(label: "sweeper-test")
        logger.logLevel = .critical
        let sweeper = HoldSweeper(postgres: fixture.postgres, notifier: AvailabilityNotifier.disabled, logger: logger)
        // The order another writer takes (an event's cancellation locks the event, then its bookings): the sweep
        // takes the hold, waits for the event; this transaction then wants the hold — a cycle PostgreSQL breaks by
        // failing one side with 40P01. Usually the sweep, which waited first.
        try await fixture.postgres.withTransaction { blocker in
            let blockerPID: Int = try await blocker.query("SELECT pg_backend_pid()")[0].decode(0)
            try await blocker.query("SELECT 1 FROM events WHERE id = $1 FOR UPDATE", [event])
            // Expired only now, while the event is locked (any sweeper, this test's or another's, that takes the hold
            // then waits), and long ago: first in the sweep's order, before other tests' expired holds.
            try await fixture.postgres.query("UPDATE bookings SET hold_expires_at = now() - interval '10 years' WHERE id = $1", [job.booking_id])
            async let swept = sweeper.sweep()
            try await eventually("the sweep waiting for the event's lock", every: .milliseconds(5)) {
                try await fixture.postgres.query(
                    "SELECT count(*)::int FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", [blockerPID])[0].decode(0, as: Int.self)
            } until: {
                $0 > 0
            }
            do {
                try await blocker.query("SELECT 1 FROM bookings WHERE id = $1 FOR UPDATE", [job.booking_id])
            } catch let error as PostgresError where error.sqlState == "40P01" {
                // PostgreSQL chose this side (the sweep's check ran late): the sweep goes through as before.
            }
            _ = try await swept
        }
        let released = try await eventually("the expired hold released") {
            try await sweeper.sweep()
            return try await fixture.ledger(event)
        } until: {
            $0.available == 10
        }
        #expect(released.held == 0 && released.statuses["cancelled"] == 1, "\(released)")
        await fixture.cleanUp()
    }
}

@Suite("Booking worker: transient database errors", .timeLimit(.minutes(10)))
struct TransientErrorTests {
    @Test("a job that keeps hitting a transient error is retried, then recorded failed/error and dead-lettered")
    func retriesThenDeadLetters() async throws {
        let fixture = try await WorkerFixture.make()
        let event = try await fixture.event(total: 10)
        let job = fixture.job(event: event)
        try await fixture.publish([job])
        // The worker's sessions give up on a lock after 100 ms: 55P03, which the worker treats as transient.
        let impatient = PostgresClient(configuration: .init(url: TestEnvironment.databaseURL, poolSize: 4, lockTimeout: .milliseconds(100)))
        var logger = Logger(label: "transient-test")
        logger.logLevel = .critical
        let consumer = AMQPConsumer(configuration: fixture.amqp, queue: fixture.queue, prefetch: 1, logger: logger)
        let worker = BookingWorker(
            consumer: consumer, decider: BookingDecider(postgres: impatient, strategy: .forUpdate), maxAttempts: 3, logger: logger)
        try await fixture.postgres.withTransaction { blocker in
            // Conflicts with the worker's FOR UPDATE, not with the foreign-key check of its failure record.
            try await blocker.query("SELECT 1 FROM events WHERE id = $1 FOR NO KEY UPDATE", [event])
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await consumer.run() }
                group.addTask { try await worker.run() }
                // The worker records the failure, then rejects the message: wait for the end of both before
                // stopping it (a stop in between would leave the message to be redelivered, not dead-lettered).
                try await eventually("the blocked job in the dead-letter queue") {
                    try await fixture.waiting(in: fixture.queue.deadLetterQueue)
                } until: {
                    $0 > 0
                }
                group.cancelAll()
            }
        }
        let row = try #require(
            try await fixture.postgres.query("SELECT status::text, failure_reason::text FROM bookings WHERE id = $1", [job.booking_id]).first)
        #expect(try row.decode(0) == "failed")
        #expect(try row.decode(1) == "error")
        #expect(try await fixture.waiting(in: fixture.queue.deadLetterQueue) == 1)
        #expect(try await fixture.ledger(event).available == 10)
        await impatient.shutdown()
        await fixture.cleanUp()
    }
}

@Suite("Booking worker: the database out of reach", .timeLimit(.minutes(10)))
struct DatabaseOutageTests {
    @Test("while the database cannot be reached, jobs go back to the queue (never to the dead letters) and are decided once it is back")
    func requeuedNotDeadLettered() async throws {
        let fixture = try await WorkerFixture.make()
        let event = try await fixture.event(total: 10)
        let jobs = [fixture.job(event: event), fixture.job(event: event, tickets: 2)]
        try await fixture.publish(jobs)
        // A database that refuses connections: nothing listens on this loopback port.
        var url = URLComponents(string: TestEnvironment.databaseURL)!
        url.port = 21_999
        let away = PostgresClient(configuration: .init(url: url.string!, poolSize: 2, connectTimeout: .seconds(1)))
        let consumer = AMQPConsumer(configuration: fixture.amqp, queue: fixture.queue, prefetch: 2, logger: fixture.logger)
        let (logger, said) = RecordingLogHandler.logger()
        let worker = BookingWorker(
            consumer: consumer, decider: BookingDecider(postgres: away, strategy: .forUpdate), maxAttempts: 2,
            requeueDelay: .milliseconds(100), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            group.addTask { try await worker.run() }
            // Several rounds of deliver → fail → requeue: each job returned to the queue at least twice.
            try await eventually("the jobs to go back to the queue four times") {
                said.value.filter { $0.contains("returned to the queue") }.count >= 4
            }
            group.cancelAll()
        }
        await away.shutdown()
        #expect(try await fixture.decided(jobs.map(\.booking_id)) == 0)
        let waiting = try await eventually("both jobs back in the queue") {
            try await fixture.waiting()
        } until: {
            $0 == 2
        }
        #expect(waiting == 2, "both jobs are back in the queue")
        #expect(try await fixture.waiting(in: fixture.queue.deadLetterQueue) == 0)
        #expect(!said.value.contains { $0.contains("dead-lettered") }, "\(said.value)")
        // The database is back: a worker on it decides both.
        try await fixture.drain(strategy: .forUpdate) { try await fixture.decided(jobs.map(\.booking_id)) == 2 }
        #expect(try await fixture.ledger(event).held == 3)
        await fixture.cleanUp()
    }
}
