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

/// The booking intake's admission gate (``AdmissionGate``): sold out at the gate, tickets that come back reopen
/// it, a lost release lapses with its lease, and with Redis down intake publishes for the worker to decide.
@Suite("Admission gate", .timeLimit(.minutes(10)))
struct AdmissionGateTests {
    /// A server (own queue and cache prefix), optionally an in-process for-update worker on the same queue and
    /// prefix, an admin token and one approved event.
    private func withGate(
        tickets: Int, price: String = "0", worker: Bool, settings: [String: String] = [:],
        _ body:
            @Sendable (_ client: any TestClientProtocol, _ event: String, _ queue: AMQPQueue, _ redis: RedisClient, _ keys: TicketsLeftKeys) async throws ->
            Void
    ) async throws {
        let admin = uniqueEmail("admin").lowercased()
        let prefix = "gate-\(TestEnvironment.uniqueSuffix()):"
        let queue = AMQPQueue(name: "test.gate.\(TestEnvironment.uniqueSuffix())")
        var logger = Logger(label: "gate")
        logger.logLevel = .critical
        let postgres = PostgresClient(configuration: .init(url: TestEnvironment.databaseURL, poolSize: 4))
        let redis = RedisClient(configuration: try RedisConfiguration(url: TestEnvironment.redisURL))
        let consumer = AMQPConsumer(
            configuration: try AMQPConfiguration(url: TestEnvironment.amqpURL, confirmTimeout: Patience.standard), queue: queue, prefetch: 4, logger: logger)
        let decider = BookingWorker(
            consumer: consumer,
            decider: BookingDecider(
                postgres: postgres, strategy: .forUpdate,
                notifier: AvailabilityNotifier(store: AvailabilityStore(postgres: postgres, redis: redis, keys: TicketsLeftKeys(prefix: prefix)))),
            logger: logger)
        let overrides = settings.merging(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1", "BOOKING_QUEUE": queue.name, "CACHE_PREFIX": prefix]) { $1 }
        try await withThrowingTaskGroup(of: Void.self) { group in
            if worker {
                group.addTask { try await consumer.run() }
                group.addTask { try await decider.run() }
            }
            try await withServer(overrides) { client in
                let token = try await Fixtures.adminToken(client, email: admin)
                let created = try await client.send(.post, "/api/events", json: eventJSON(tickets: tickets, price: price), token: token)
                let event = try #require(try created.json()["event"] as? [String: Any])["id"] as! String
                try await body(client, event, queue, redis, TicketsLeftKeys(prefix: prefix))
            }
            group.cancelAll()
        }
        let publisher = AMQPPublisher(configuration: try AMQPConfiguration(url: TestEnvironment.amqpURL, confirmTimeout: Patience.standard), queue: queue)
        try? await publisher.deleteQueues()
        await publisher.shutdown()
        await postgres.shutdown()
        await redis.shutdown()
    }

    private func jobs(in queue: AMQPQueue) async throws -> Int {
        let publisher = AMQPPublisher(configuration: try AMQPConfiguration(url: TestEnvironment.amqpURL, confirmTimeout: Patience.standard), queue: queue)
        let count = try await publisher.messageCount(queue.name)
        await publisher.shutdown()
        return count
    }

    private func book(_ client: any TestClientProtocol, _ event: String, tickets: Int = 1, token: String) async throws -> TestResponse {
        try await client.send(.post, "/api/bookings", json: #"{"event_id":"\#(event)","ticket_count":\#(tickets)}"#, token: token)
    }

    @Test("once admitted bookings claim every ticket, the next request is 422 sold_out and publishes nothing")
    func soldOutAtTheGate() async throws {
        try await withGate(tickets: 3, worker: false) { client, event, queue, redis, keys in
            let first = try await client.register(email: uniqueEmail())
            #expect(try await book(client, event, tickets: 2, token: first).status == .accepted)
            let second = try await client.register(email: uniqueEmail())
            // One ticket is unclaimed: two are refused, one is admitted, and then nothing is left.
            let tooMany = try await book(client, event, tickets: 2, token: second)
            #expect(tooMany.status == .unprocessableContent && tooMany.errorCode == "sold_out", "\(tooMany.status)")
            #expect(try await book(client, event, tickets: 1, token: second).status == .accepted)
            let third = try await client.register(email: uniqueEmail())
            let refused = try await book(client, event, tickets: 1, token: third)
            #expect(refused.status == .unprocessableContent && refused.errorCode == "sold_out")
            #expect(try await jobs(in: queue) == 2, "only the admitted requests were published")
            let claimed = try await redis.send(["HGET", RedisArgument(keys.admissionClaims(UUID(uuidString: event)!)), "total"]).string
            #expect(claimed == "3")
        }
    }

    @Test("tickets that come back reopen the gate at once: a decided booking releases its claim, a cancelled hold gives its ticket back")
    func releasedTicketsReopen() async throws {
        // Leases and tickets-left entries that would outlive the test: only a release can reopen the gate.
        try await withGate(tickets: 1, price: "250.00", worker: true, settings: ["ADMISSION_LEASE_SECONDS": "3600", "AVAILABILITY_TTL": "3600"]) {
            client, event, _, redis, keys in
            let holder = try await client.register(email: uniqueEmail())
            let accepted = try await book(client, event, token: holder)
            #expect(accepted.status == .accepted)
            let id = try #require(try accepted.json()["booking_id"] as? String)
            try await eventually("the worker to hold the ticket") {
                (try await client.send(.get, "/api/bookings/\(id)", token: holder).json()["booking"] as? [String: Any])?["status"] as? String == "pending"
            }
            let claims = RedisArgument(keys.admissionClaims(UUID(uuidString: event)!))
            try await eventually("the worker to release the decided booking's claim") {
                try await redis.send(["HGET", claims, "total"]).string == "0"
            }
            let other = try await client.register(email: uniqueEmail())
            let refused = try await book(client, event, token: other)
            #expect(refused.status == .unprocessableContent && refused.errorCode == "sold_out")

            // The hold is cancelled: its ticket is published back and the very next request is admitted.
            #expect(try await client.send(.post, "/api/bookings/\(id)/cancel-pending", token: holder).status == .ok)
            let reopened = try await book(client, event, token: other)
            #expect(reopened.status == .accepted, "\(reopened.status) \(String(buffer: reopened.body))")
        }
    }

    @Test("a refusal is remembered for a moment: the same sold-out answer again without a Redis round trip, but never for a request with an Idempotency-Key")
    func soldOutMemory() async throws {
        try await withGate(tickets: 1, worker: false) { client, event, _, redis, keys in
            let first = try await client.register(email: uniqueEmail())
            #expect(try await book(client, event, token: first).status == .accepted)
            let (second, user) = try await registerWithID(client)
            let counter = RedisArgument(keys.prefix + "ratelimit:booking:" + user)
            // The memory's 250 ms run from the gate's reply, which comes after this instant (and before the answer).
            let started = ContinuousClock.now
            #expect(try await book(client, event, token: second).status == .unprocessableContent)
            #expect(try await redis.send(["GET", counter]).string == "1", "the gate ran once")
            // Within the memory's 250 ms the next refusal is answered in process: the script (which counts) did not run.
            // On a machine too busy to send it in time, the gate answers instead and the count shows it; both are right.
            let again = try await book(client, event, token: second)
            let counted = try await redis.send(["GET", counter]).string
            #expect(again.status == .unprocessableContent && again.errorCode == "sold_out")
            if ContinuousClock.now - started < .milliseconds(200) { #expect(counted == "1", "answered from the sold-out memory") }
            let keyed = try await client.execute(
                uri: "/api/bookings", method: .post,
                headers: [.contentType: "application/json", .authorization: "Bearer \(second)", .init("Idempotency-Key")!: "retry-1"],
                body: ByteBuffer(string: #"{"event_id":"\#(event)","ticket_count":1}"#))
            #expect(keyed.status == .unprocessableContent)
            #expect(try await redis.send(["GET", counter]).string != counted, "a keyed request always asks the gate")
        }
    }

    /// Registers a user; its token and id.
    private func registerWithID(_ client: any TestClientProtocol) async throws -> (token: String, id: String) {
        let token = try await client.register(email: uniqueEmail())
        let profile = try await client.send(.get, "/api/profile", token: token)
        let id = try #require((try profile.json()["user"] as? [String: Any])?["id"] as? String)
        return (token, id)
    }

    @Test("a claim nobody releases (its worker died) lapses with its lease, and the gate reopens")
    func lostReleaseLapses() async throws {
        try await withGate(tickets: 1, worker: false, settings: ["ADMISSION_LEASE_SECONDS": "2", "BOOKING_RATE_LIMIT_PER_MINUTE": "0"]) {
            client, event, queue, redis, keys in
            let first = try await client.register(email: uniqueEmail())
            let second = try await client.register(email: uniqueEmail())
            let accepted = try await book(client, event, token: first)
            #expect(accepted.status == .accepted)
            let id = try #require(try accepted.json()["booking_id"] as? String)
            let leases = RedisArgument(keys.admissionLeases(UUID(uuidString: event)!))
            // While the first booking's lease holds, the ticket is claimed. (A machine that stalls past the lease
            // lets the second request in at once: then the lease must be the one that lapsed.)
            let refused = try await book(client, event, token: second)
            if refused.status == .accepted {
                #expect(try await redis.send(["ZSCORE", leases, RedisArgument(id)]).isNull, "admitted only once the lease lapsed")
            } else {
                #expect(refused.status == .unprocessableContent && refused.errorCode == "sold_out")
                try await eventually("the unreleased claim to lapse", every: .milliseconds(250)) {
                    try await book(client, event, token: second).status == .accepted
                }
            }
            #expect(try await jobs(in: queue) == 2)
        }
    }

    @Test("with Redis down the gate is skipped: intake publishes for the worker to decide, and still refuses what cannot fit")
    func redisDownPublishes() async throws {
        try await withGate(tickets: 1, worker: false, settings: ["REDIS_URL": "redis://127.0.0.1:1"]) { client, event, queue, _, _ in
            for _ in 0..<2 {
                let user = try await client.register(email: uniqueEmail())
                let response = try await book(client, event, token: user)
                #expect(response.status == .accepted, "\(response.status) \(String(buffer: response.body))")
            }
            let user = try await client.register(email: uniqueEmail())
            let tooMany = try await book(client, event, tickets: 2, token: user)
            #expect(tooMany.status == .unprocessableContent && tooMany.errorCode == "sold_out")
            #expect(try await jobs(in: queue) == 2)
        }
    }
}
