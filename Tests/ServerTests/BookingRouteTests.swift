import Foundation
import HappeningAMQP
import HappeningModel
import HappeningPostgres
import HappeningRedis
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import Server

@Suite("Booking routes", .timeLimit(.minutes(10)))
struct BookingRouteTests {
    /// A server publishing to its own queue, an admin, and one approved event with `tickets` tickets.
    private func withBookingServer(
        tickets: Int = 100, amqpURL: String? = nil, settings: [String: String] = [:],
        _ body: @Sendable (any TestClientProtocol, _ event: String, _ queue: AMQPQueue, _ admin: String) async throws -> Void
    ) async throws {
        let admin = uniqueEmail("admin").lowercased()
        let queue = AMQPQueue(name: "test.bookings.\(TestEnvironment.uniqueSuffix())")
        var overrides = settings.merging(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1", "BOOKING_QUEUE": queue.name]) { $1 }
        if let amqpURL { overrides["AMQP_URL"] = amqpURL }
        try await withServer(overrides) { client in
            let token = try await Fixtures.adminToken(client, email: admin)
            let created = try await client.send(.post, "/api/events", json: eventJSON(tickets: tickets), token: token)
            let event = try #require(try created.json()["event"] as? [String: Any])["id"] as! String
            try await body(client, event, queue, admin)
        }
        let publisher = AMQPPublisher(configuration: try AMQPConfiguration(url: TestEnvironment.amqpURL, confirmTimeout: Patience.standard), queue: queue)
        try? await publisher.deleteQueues()
        await publisher.shutdown()
    }

    private func jobs(in queue: AMQPQueue) async throws -> Int {
        let publisher = AMQPPublisher(configuration: try AMQPConfiguration(url: TestEnvironment.amqpURL, confirmTimeout: Patience.standard), queue: queue)
        let count = try await publisher.messageCount(queue.name)
        await publisher.shutdown()
        return count
    }

    @Test("POST /api/bookings answers 202 only after the job is in the queue; the status is queued")
    func intake() async throws {
        try await withBookingServer { client, event, queue, _ in
            let user = try await client.register(email: uniqueEmail())
            let response = try await client.send(.post, "/api/bookings", json: #"{"event_id":"\#(event)","ticket_count":2}"#, token: user)
            #expect(response.status == .accepted)
            let body = try response.json()
            let id = try #require(body["booking_id"] as? String)
            #expect(body["status"] as? String == "queued")
            #expect(body["status_url"] as? String == "/api/bookings/\(id)")
            #expect(try await jobs(in: queue) == 1)

            // The job itself carries what the worker needs.
            let consumer = AMQPConsumer(configuration: try AMQPConfiguration(url: TestEnvironment.amqpURL, confirmTimeout: Patience.standard), queue: queue)
            let job = try await withThrowingTaskGroup(of: BookingJob?.self) { group in
                group.addTask {
                    try await consumer.run()
                    return nil
                }
                group.addTask {
                    for await delivery in consumer.deliveries {
                        try await consumer.nack(delivery, requeue: true)
                        return try BookingJob.decode(delivery.body)
                    }
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                return first
            }
            #expect(job?.booking_id.lowercasedText == id)
            #expect(job?.event_id.lowercasedText == event)
            #expect(job?.ticket_count == 2)

            let status = try await client.send(.get, "/api/bookings/\(id)", token: user)
            #expect(status.status == .ok)
            #expect((try status.json()["booking"] as? [String: Any])?["status"] as? String == "queued")
            let other = try await client.register(email: uniqueEmail())
            #expect(try await client.send(.get, "/api/bookings/\(id)", token: other).status == .forbidden)
            #expect(try await client.send(.get, "/api/bookings/\(UUID())", token: user).status == .notFound)
        }
    }

    @Test("an entry in the cache this server cannot scan is never decoded: intake asks the repository's typed lookup")
    func foreignCachedEntry() async throws {
        let prefix = "test-foreign-\(TestEnvironment.uniqueSuffix()):"
        try await withBookingServer(settings: ["CACHE": "on", "CACHE_PREFIX": prefix, "NEAR_CACHE_ENTRIES": "0"]) { client, event, queue, _ in
            // Another writer's body for the event (keys in another order), claiming it started in 2000 with nothing left.
            let redis = RedisClient(configuration: try RedisConfiguration(url: TestEnvironment.redisURL))
            let foreign = #"{"message":"Event details","event":{"available_tickets":0,"date_time":"2000-01-01T00:00:00Z","id":"\#(event)"}}"#
            _ = try await redis.set(CacheKeys(prefix: prefix).event(UUID(uuidString: event)!), value: RedisArgument(foreign), expiresIn: .seconds(60))
            await redis.shutdown()
            let user = try await client.register(email: uniqueEmail())
            let response = try await client.send(.post, "/api/bookings", json: #"{"event_id":"\#(event)","ticket_count":1}"#, token: user)
            #expect(response.status == .accepted, "the event starts next week and has its tickets, as PostgreSQL says")
            #expect(try await jobs(in: queue) == 1)
        }
    }

    @Test("intake names its stages: a Server-Timing header on the 202 and on a sold-out 422, and per-stage timers in /metrics")
    func stageTimings() async throws {
        try await withBookingServer(tickets: 1) { client, event, queue, _ in
            func stages(_ response: TestResponse) -> [String] {
                (response.headers[.init("Server-Timing")!] ?? "").split(separator: ",").map {
                    String($0.split(separator: ";")[0].trimmingCharacters(in: .whitespaces))
                }
            }
            let user = try await client.register(email: uniqueEmail())
            let accepted = try await client.send(.post, "/api/bookings", json: #"{"event_id":"\#(event)","ticket_count":1}"#, token: user)
            #expect(accepted.status == .accepted)
            // No account reload (the token alone) and one Redis round trip for the rate limit, the idempotency key and the gate.
            #expect(stages(accepted) == ["token", "event", "admission", "publish"], "\(accepted.headers)")
            let header = try #require(accepted.headers[.init("Server-Timing")!])
            #expect(header.contains("publish;dur="), "durations in milliseconds: \(header)")

            // Asking for more than is left is refused before anything is published: its cost shows too.
            let refused = try await client.send(.post, "/api/bookings", json: #"{"event_id":"\#(event)","ticket_count":2}"#, token: user)
            #expect(refused.status == .unprocessableContent)
            #expect(stages(refused) == ["token", "event", "admission"], "\(refused.headers)")
            #expect(try await jobs(in: queue) == 1)
            #expect(try await client.send(.get, "/api/events/public/upcoming").headers[.init("Server-Timing")!] == nil, "no stages, no header")

            let metrics = String(buffer: try await client.send(.get, "/metrics").body)
            for stage in ["token", "event", "admission", "publish"] {
                #expect(
                    metrics.contains(#"happening_request_stage_duration_seconds_count{route="/api/bookings",stage="\#(stage)"}"#)
                        || metrics.contains(#"happening_request_stage_duration_seconds_count{stage="\#(stage)",route="/api/bookings"}"#), "\(stage)")
            }
        }
    }

    @Test("a user over the booking rate limit gets 429 with Retry-After; another user is not affected")
    func rateLimited() async throws {
        try await withBookingServer(settings: ["BOOKING_RATE_LIMIT_PER_MINUTE": "3"]) { client, event, queue, _ in
            let user = try await client.register(email: uniqueEmail())
            let body = #"{"event_id":"\#(event)","ticket_count":1}"#
            for _ in 0..<3 { #expect(try await client.send(.post, "/api/bookings", json: body, token: user).status == .accepted) }
            let limited = try await client.send(.post, "/api/bookings", json: body, token: user)
            #expect(limited.status == .tooManyRequests && limited.errorCode == "rate_limited")
            let retryAfter = Int(limited.headers[.retryAfter] ?? "") ?? 0
            #expect((1...60).contains(retryAfter), "Retry-After: \(limited.headers[.retryAfter] ?? "none")")
            #expect(try await jobs(in: queue) == 3, "the refused request published nothing")
            let other = try await client.register(email: uniqueEmail())
            #expect(try await client.send(.post, "/api/bookings", json: body, token: other).status == .accepted)
        }
    }

    @Test("attack: one account firing many parallel requests is admitted for at most the per-user cap of the event (10)")
    func perUserCapAtTheGate() async throws {
        try await withBookingServer(tickets: 200) { client, event, queue, _ in
            let hoarder = try await client.register(email: uniqueEmail("hoarder"))
            let body = #"{"event_id":"\#(event)","ticket_count":4}"#
            let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?).self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let response = try await client.send(.post, "/api/bookings", json: body, token: hoarder)
                        return (response.status, response.errorCode)
                    }
                }
                return try await group.reduce(into: [(HTTPResponse.Status, String?)]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0.0 == .accepted }.count == 2, "4 + 4 fit under 10, a third 4 does not: \(statuses)")
            #expect(statuses.filter { $0.1 == "ticket_limit" }.count == 6)
            #expect(try await jobs(in: queue) == 2)
            let fan = try await client.register(email: uniqueEmail("fan"))
            #expect(try await client.send(.post, "/api/bookings", json: body, token: fan).status == .accepted, "another account is not affected")
        }
    }

    @Test("a publish the broker did not confirm in time is a 503 naming the booking (it may be queued); other failures stay plain")
    func unconfirmedPublishNamesTheBooking() throws {
        let id = UUID()
        let unconfirmed = try #require(BookingIntake.publishFailure(AMQPError(kind: .confirmTimeout), booking: id) as? AppError)
        #expect(unconfirmed.status == .serviceUnavailable && unconfirmed.code == "queue_unconfirmed" && unconfirmed.retryAfter == 5)
        #expect(unconfirmed.details?["booking_id"] == id.lowercasedText && unconfirmed.details?["status_url"] == "/api/bookings/\(id.lowercasedText)")
        #expect(BookingIntake.publishFailure(AMQPError(kind: .connection), booking: id) is AMQPError, "a refused publish never queued anything")
    }

    @Test("the same Idempotency-Key gives the same booking id and never a second job")
    func idempotency() async throws {
        try await withBookingServer { client, event, queue, _ in
            let user = try await client.register(email: uniqueEmail())
            func book(_ key: String) async throws -> String? {
                let response = try await client.execute(
                    uri: "/api/bookings", method: .post,
                    headers: [.contentType: "application/json", .authorization: "Bearer \(user)", .init("Idempotency-Key")!: key],
                    body: ByteBuffer(string: #"{"event_id":"\#(event)","ticket_count":1}"#))
                #expect(response.status == .accepted)
                return try response.json()["booking_id"] as? String
            }
            let first = try await book("click-1")
            let again = try await book("click-1")
            #expect(first != nil && first == again)
            #expect(try await jobs(in: queue) == 1)
            let other = try await book("click-2")
            #expect(other != first)
            #expect(try await jobs(in: queue) == 2)
        }
    }

    @Test("bad booking requests get 4xx, never 500 or 202")
    func validation() async throws {
        try await withBookingServer(tickets: 3) { client, event, queue, admin in
            let user = try await client.register(email: uniqueEmail())
            #expect(try await client.send(.post, "/api/bookings", json: #"{"event_id":"\#(event)","ticket_count":1}"#).status == .unauthorized)
            for body in [
                #"{"ticket_count":1}"#, #"{"event_id":"nope","ticket_count":1}"#, #"{"event_id":"\#(event)","ticket_count":0}"#,
                #"{"event_id":"\#(event)","ticket_count":11}"#, #"{"event_id":"\#(event)","ticket_count":"2"}"#,
                #"{"event_id":"\#(event)","ticket_count":1.5}"#, "{", "",
            ] {
                let response = try await client.send(.post, "/api/bookings", json: body, token: user)
                #expect(response.status == .badRequest, "\(body) gave \(response.status)")
            }
            #expect(try await client.send(.post, "/api/bookings", json: #"{"event_id":"\#(UUID())","ticket_count":1}"#, token: user).status == .notFound)
            let tooMany = try await client.send(.post, "/api/bookings", json: #"{"event_id":"\#(event)","ticket_count":4}"#, token: user)
            #expect(tooMany.status == .unprocessableContent)
            #expect(tooMany.errorCode == "sold_out")
            // A cancelled event is no longer bookable.
            let token = try await Fixtures.adminToken(client, email: admin)
            #expect(try await client.send(.post, "/api/events/\(event)/cancel", token: token).status == .ok)
            #expect(try await client.send(.post, "/api/bookings", json: #"{"event_id":"\#(event)","ticket_count":1}"#, token: user).status == .notFound)
            #expect(try await jobs(in: queue) == 0)
        }
    }

    @Test("with the broker unreachable, booking answers 503 with Retry-After, never 202")
    func brokerDown() async throws {
        try await withBookingServer(amqpURL: "amqp://guest:guest@127.0.0.1:1/%2f") { client, event, _, _ in
            let user = try await client.register(email: uniqueEmail())
            let response = try await client.send(.post, "/api/bookings", json: #"{"event_id":"\#(event)","ticket_count":1}"#, token: user)
            #expect(response.status == .serviceUnavailable)
            #expect(response.errorCode == "dependency_unavailable")
            #expect(response.headers[.retryAfter] != nil)
        }
    }

    @Test("a decided booking shows its status; cancel-pending returns the tickets once; hosts see their event's bookings")
    func afterTheWorker() async throws {
        try await withBookingServer(tickets: 10) { client, event, _, admin in
            let email = uniqueEmail()
            let user = try await client.register(email: email)
            // What the worker would have done: a pending hold of 3 tickets.
            let booking = UUID()
            try await Fixtures.sql(
                """
                WITH held AS (UPDATE events SET available_tickets = available_tickets - 3 WHERE id = $2 RETURNING id)
                INSERT INTO bookings (id, user_id, event_id, ticket_count, total_amount, status, hold_expires_at)
                SELECT $1, u.id, held.id, 3, 1498.50, 'pending', now() + interval '15 minutes' FROM held, users u WHERE lower(u.email) = lower($3)
                """, [booking, UUID(uuidString: event)!, email])
            let status = try await client.send(.get, "/api/bookings/\(booking)", token: user)
            let stored = try #require(try status.json()["booking"] as? [String: Any])
            #expect(stored["status"] as? String == "pending")
            #expect(stored["total_amount"] as? String == "1498.50")
            #expect(stored["hold_expires_at"] != nil)
            let mine = try await client.send(.get, "/api/bookings/my-bookings", token: user)
            #expect((try mine.json()["bookings"] as? [[String: Any]])?.first?["id"] as? String == booking.lowercasedText)

            let adminToken = try await Fixtures.adminToken(client, email: admin)
            #expect(try await client.send(.get, "/api/bookings/event/\(event)", token: adminToken).status == .ok)
            #expect(try await client.send(.get, "/api/bookings/event/\(event)", token: user).status == .forbidden)

            let other = try await client.register(email: uniqueEmail())
            #expect(try await client.send(.post, "/api/bookings/\(booking)/cancel-pending", token: other).status == .notFound)
            #expect(try await client.send(.post, "/api/bookings/\(booking)/cancel-pending", token: user).status == .ok)
            #expect(try await client.send(.post, "/api/bookings/\(booking)/cancel-pending", token: user).status == .notFound)
            let after = try await client.send(.get, "/api/events/\(event)")
            #expect((try after.json()["event"] as? [String: Any])?["available_tickets"] as? Int == 10)
        }
    }
}
