import BookingEngine
import EventAvailability
import Foundation
import HappeningAMQP
import HappeningModel
import HappeningPostgres
import HappeningRedis
import Hummingbird
import HummingbirdTesting
import Logging
import TestSupport
import Testing

@testable import Server

@Suite("Server and worker together", .timeLimit(.minutes(10)))
struct EndToEndBookingTests {
    @Test("POST /api/bookings → worker → the status and the cached event both show the hold")
    func bookThroughTheWorker() async throws {
        let admin = uniqueEmail("admin").lowercased()
        let prefix = "e2e-\(TestEnvironment.uniqueSuffix()):"
        let queue = AMQPQueue(name: "test.e2e.\(TestEnvironment.uniqueSuffix())")
        var logger = Logger(label: "e2e")
        logger.logLevel = .critical
        let postgres = PostgresClient(configuration: .init(url: TestEnvironment.databaseURL, poolSize: 4))
        let redis = RedisClient(configuration: try RedisConfiguration(url: TestEnvironment.redisURL))
        let consumer = AMQPConsumer(
            configuration: try AMQPConfiguration(url: TestEnvironment.amqpURL, confirmTimeout: Patience.standard), queue: queue, prefetch: 5, logger: logger)
        let worker = BookingWorker(
            consumer: consumer,
            decider: BookingDecider(
                postgres: postgres, strategy: .forUpdate,
                notifier: AvailabilityNotifier(store: AvailabilityStore(postgres: postgres, redis: redis, keys: TicketsLeftKeys(prefix: prefix)))),
            logger: logger)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            group.addTask { try await worker.run() }
            try await withServer(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1", "BOOKING_QUEUE": queue.name, "CACHE_PREFIX": prefix]) { client in
                let adminToken = try await Fixtures.adminToken(client, email: admin)
                let created = try await client.send(.post, "/api/events", json: eventJSON(tickets: 10), token: adminToken)
                let event = try #require(try created.json()["event"] as? [String: Any])["id"] as! String
                // Warm the event's cache entry: it must show the worker's decision without being retired.
                #expect((try await client.send(.get, "/api/events/\(event)").json()["event"] as? [String: Any])?["available_tickets"] as? Int == 10)

                let user = try await client.register(email: uniqueEmail())
                let accepted = try await client.send(.post, "/api/bookings", json: #"{"event_id":"\#(event)","ticket_count":3}"#, token: user)
                #expect(accepted.status == .accepted)
                let id = try #require(try accepted.json()["booking_id"] as? String)
                let status = try await eventually("the worker to decide the booking", every: .milliseconds(25)) {
                    (try await client.send(.get, "/api/bookings/\(id)", token: user).json()["booking"] as? [String: Any])?["status"] as? String ?? "?"
                } until: {
                    $0 != "queued"
                }
                #expect(status == "pending")
                // The worker publishes tickets left right after its COMMIT (and before its ack), so within moments
                // the cached event shows them, still served from the cache (a booking retires no entry).
                let read = try await eventually("the event to read 7 tickets left (the worker published event:<id>:available)") {
                    try await client.send(.get, "/api/events/\(event)")
                } until: {
                    ((try? $0.json()["event"] as? [String: Any])?["available_tickets"] as? Int) == 7
                }
                #expect(read.headers[.init("X-Cache")!] == "HIT")
            }
            group.cancelAll()
        }
        let publisher = AMQPPublisher(configuration: try AMQPConfiguration(url: TestEnvironment.amqpURL, confirmTimeout: Patience.standard), queue: queue)
        try? await publisher.deleteQueues()
        await publisher.shutdown()
        await postgres.shutdown()
        await redis.shutdown()
    }
}
