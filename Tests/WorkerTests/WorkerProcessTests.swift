import BookingEngine
import Foundation
import HappeningAMQP
import HappeningPostgres
import TestSupport
import Testing

/// The real `happening-worker` binary (built by `swift build --build-tests`) as a separate process.
private enum WorkerProcess {
    static func start(queue: String, arguments: String = "--prefetch 50 --concurrency 4") async throws -> ChildProcess {
        try await ChildProcess.start(
            "happening-worker", arguments: "run \(arguments) --sweep-interval 0",
            environment: [
                "DATABASE_URL": TestEnvironment.databaseURL, "REDIS_URL": TestEnvironment.redisURL, "AMQP_URL": TestEnvironment.amqpURL,
                // One fixture user books every job: the per-user cap is off here (its own test is in WorkerBehaviourTests).
                "BOOKING_QUEUE": queue, "LOG_LEVEL": "error", "MAX_TICKETS_PER_USER_PER_EVENT": "0",
            ])
    }
}

@Suite("Booking worker processes: crash and shutdown", .serialized, .timeLimit(.minutes(10)))
struct WorkerProcessTests {
    @Test("kill -9 a worker with 6,000 jobs in flight, restart it: one terminal row per job, tickets conserved")
    func killNine() async throws {
        let fixture = try await WorkerFixture.make()
        let event = try await fixture.event(total: 4_500)
        let jobs = (0..<6_000).map { _ in fixture.job(event: event) }
        try await fixture.publish(jobs)
        let ids = jobs.map(\.booking_id)

        // The first worker decides one job at a time, so it is still busy when it is killed, however slowly this
        // test's polling runs on a loaded machine (with 2,000 jobs and 4 at a time it once finished first).
        let first = try await WorkerProcess.start(queue: fixture.queue.name, arguments: "--prefetch 20 --concurrency 1")
        try await eventually("the first worker to decide 200 jobs", within: Patience.startup, every: .milliseconds(10)) {
            try await fixture.decided(ids)
        } until: {
            $0 >= 200
        }
        first.signal(SIGKILL)
        #expect(try await first.waitForExit())
        let atKill = try await fixture.decided(ids)
        #expect(atKill < ids.count, "the worker finished before it could be killed; the test proves nothing")

        let second = try await WorkerProcess.start(queue: fixture.queue.name)
        let decided = try await eventually("the second worker to decide every job", within: .seconds(300), every: .milliseconds(100)) {
            try await fixture.decided(ids)
        } until: {
            $0 >= ids.count
        }
        second.signal(SIGTERM)
        #expect(try await second.waitForExit(), "SIGTERM should stop the worker")
        #expect(decided == ids.count, "every published job ends in a row")
        let rows: Int = try await fixture.postgres.query("SELECT count(*)::int FROM bookings WHERE event_id = $1", [event])[0].decode(0)
        #expect(rows == ids.count, "no duplicates")
        let ledger = try await fixture.ledger(event)
        #expect(ledger.held == 4_500 && ledger.available == 0, "\(ledger)")
        #expect(ledger.statuses["failed/sold_out"] == 1_500, "\(ledger.statuses)")
        await fixture.cleanUp()
    }

    @Test("--strategy unsafe refuses to start without --i-know-this-oversells")
    func unsafeNeedsConsent() throws {
        let binary = ChildProcess.binary("happening-worker")
        let refused = try TestEnvironment.shell("'\(binary)' run --strategy unsafe")
        #expect(refused.status != 0)
        #expect(refused.output.contains("i-know-this-oversells"))
        #expect(try TestEnvironment.shell("'\(binary)' run --strategy sideways").status != 0)
    }

    @Test("SIGTERM: the worker stops consuming, finishes and acks what it holds, and exits; nothing is lost")
    func gracefulShutdown() async throws {
        let fixture = try await WorkerFixture.make()
        let event = try await fixture.event(total: 5_000)
        let jobs = (0..<1_000).map { _ in fixture.job(event: event) }
        try await fixture.publish(jobs)
        let ids = jobs.map(\.booking_id)
        let worker = try await WorkerProcess.start(queue: fixture.queue.name, arguments: "--prefetch 100 --concurrency 4")
        try await eventually("the worker to decide 100 jobs", within: Patience.startup, every: .milliseconds(10)) {
            try await fixture.decided(ids)
        } until: {
            $0 >= 100
        }
        worker.signal(SIGTERM)
        #expect(try await worker.waitForExit())
        // Everything the broker still has is unacked-and-returned or never delivered: decided + waiting = all.
        let publisher = AMQPPublisher(configuration: fixture.amqp, queue: fixture.queue)
        let waiting = try await publisher.messageCount(fixture.queue.name)
        await publisher.shutdown()
        let after = try await fixture.decided(ids)
        #expect(after + waiting == ids.count, "decided \(after) + waiting \(waiting) should be \(ids.count)")
        let ledger = try await fixture.ledger(event)
        #expect(ledger.held + ledger.available == 5_000)
        await fixture.cleanUp()
    }
}
