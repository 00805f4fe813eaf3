import EventAvailability
import Foundation
import HTTPTypes
import HappeningModel
import HappeningPostgres
import HappeningRedis
import HummingbirdTesting
import Logging
import Payments
import TestSupport
import Testing

@testable import Server

/// Every way tickets left change once an event exists goes through ``TicketsLeft``: the committed value is in Redis
/// when the call returns, in every process that changes it (issue 38: "one way to change `available_tickets` that
/// commits and publishes").
@Suite("Tickets left: one way to change them, committed and published", .timeLimit(.minutes(10)))
struct TicketsLeftPublishingTests {
    /// What Redis holds for the event, and the row's value and version, read now.
    private func published(_ event: UUID, _ deps: AppDependencies, prefix: String) async throws -> (redis: String?, row: String) {
        let row = try await deps.postgres.query("SELECT available_tickets, availability_version FROM events WHERE id = $1", [event])[0]
        let value = Availability(available: try row.decode(0), version: try row.decode(1))
        return (try await deps.redis.getString(TicketsLeftKeys(prefix: prefix).availability(event)), value.encoded)
    }

    @Test("a hold cancelled, an edit of the total and an event cancelled by the worker's reconcile pass publish the committed value")
    func everyWriterPublishes() async throws {
        let admin = uniqueEmail("admin").lowercased()
        let prefix = "test-left-\(TestEnvironment.uniqueSuffix()):"
        let settings = ["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1", "CACHE_PREFIX": prefix]
        try await withPaymentServer(settings) { client, deps, _ in
            let fixtures = PaymentFixtures(postgres: deps.postgres)
            let (token, user) = try await fixtures.buyer(client)
            let event = try await fixtures.paidEvent(host: user, tickets: 10)
            let holds = [try await fixtures.pendingBooking(user: user, event: event, tickets: 3), try await fixtures.pendingBooking(user: user, event: event)]

            // A hold cancelled by its owner (the server's BookingRepository).
            #expect(try await client.send(.post, "/api/bookings/\(holds[0].lowercasedText)/cancel-pending", token: token).status == .ok)
            var now = try await published(event, deps, prefix: prefix)
            #expect(now.redis == now.row && now.row.hasSuffix(":9"), "after the hold was cancelled")

            // An edit of total_tickets (the server's EventRepository): tickets left move with it.
            let adminToken = try await Fixtures.adminToken(client, email: admin)
            #expect(try await client.send(.put, "/api/events/\(event.lowercasedText)", json: #"{"total_tickets":14}"#, token: adminToken).status == .ok)
            now = try await published(event, deps, prefix: prefix)
            #expect(now.redis == now.row && now.row.hasSuffix(":13"), "after the edit")

            // The event cancelled, its bookings cancelled by the worker's reconcile pass (Payments): it could not publish
            // before, so Redis kept 13 until the key expired.
            #expect(try await deps.cancellations.startEventCancellation(event, by: user, as: .admin(refundAfterPayout: false)) == .started)
            let reconciler = PaymentReconciler(
                payments: deps.payments,
                notifier: AvailabilityNotifier(store: AvailabilityStore(postgres: deps.postgres, redis: deps.redis, keys: TicketsLeftKeys(prefix: prefix))),
                feeBasisPoints: 0, logger: Logger(label: "test"))
            #expect(try await reconciler.pass(minimumAge: .zero).eventCancellationsResumed == 1)
            now = try await published(event, deps, prefix: prefix)
            #expect(now.redis == now.row && now.row.hasSuffix(":14"), "after the event's cancellation")
        }
    }

    @Test("a change that rolls back publishes nothing and releases no claim; one that commits publishes what its statement returned")
    func onlyCommittedChangesPublish() async throws {
        let prefix = "test-left-\(TestEnvironment.uniqueSuffix()):"
        let keys = TicketsLeftKeys(prefix: prefix)
        try await withServerAndDependencies(["CACHE_PREFIX": prefix]) { client, deps in
            let fixtures = PaymentFixtures(postgres: deps.postgres)
            let event = try await fixtures.paidEvent(host: try await fixtures.buyer(client).id, tickets: 10)
            let ticketsLeft = TicketsLeft(
                postgres: deps.postgres, notifier: AvailabilityNotifier(store: AvailabilityStore(postgres: deps.postgres, redis: deps.redis, keys: keys)))
            let claim = AdmissionClaim(event: event, booking: UUID())
            _ = try await deps.redis.send(["HSET", RedisArgument(keys.admissionClaims(event)), RedisArgument(claim.booking.lowercasedText), "2", "total", "2"])
            struct Abandoned: Error {}
            await #expect(throws: Abandoned.self) {
                try await ticketsLeft.change(releasing: [claim], logger: Logger(label: "test")) { tx in
                    try await tx.take(4, of: event)
                    throw Abandoned()
                }
            }
            #expect(try await deps.redis.getString(keys.availability(event)) == nil, "nothing published for a rolled-back change")
            #expect(try await deps.redis.send(["HGET", RedisArgument(keys.admissionClaims(event)), "total"]).string == "2", "the claim stays")

            try await ticketsLeft.change(releasing: [claim], logger: Logger(label: "test")) { tx in try await tx.take(4, of: event) }
            let now = try await published(event, deps, prefix: prefix)
            #expect(now.redis == now.row && now.row.hasSuffix(":6"))
            #expect(try await deps.redis.send(["HGET", RedisArgument(keys.admissionClaims(event)), "total"]).string == "0", "the claim went with it")
        }
    }
}
