import Foundation
import HappeningModel
import HappeningPostgres
import Hummingbird
import HummingbirdTesting
import Payments
import TestSupport
import Testing

@testable import Server

@Suite("Cancellations and refunds", .timeLimit(.minutes(10)))
struct CancellationRouteTests {
    @Test("a confirmed booking more than 24 h ahead: cancelled, tickets back, refunded in full; refund status follows the gateway")
    func userCancelsWithRefund() async throws {
        try await withPaymentServer { client, deps, gateway in
            let fixtures = PaymentFixtures(postgres: deps.postgres)
            let (token, user) = try await fixtures.buyer(client)
            let event = try await fixtures.paidEvent(host: user, tickets: 10)
            let booking = try await fixtures.paidBooking(client, gateway, user: user, token: token, event: event, tickets: 2)
            let id = booking.lowercasedText

            let listed = try await client.send(.get, "/api/cancellations/my-cancellable", token: token).json()["cancellableBookings"] as? [[String: Any]]
            #expect(listed?.contains { $0["id"] as? String == id } == true)
            let stranger = try await client.register(email: uniqueEmail())
            #expect(try await client.send(.post, "/api/cancellations/\(id)/cancel", token: stranger).status == .notFound)

            let cancelled = try await client.send(.post, "/api/cancellations/\(id)/cancel", token: token)
            #expect(cancelled.status == .ok)
            let body = try cancelled.json()
            let refundID = try #require(body["refund_id"] as? String)
            #expect(body["refund_amount"] as? String == "999.00" && body["refund_status"] as? String == "pending")
            #expect(try await fixtures.bookingStatus(booking) == "cancelled")
            #expect(try await client.send(.post, "/api/cancellations/\(id)/cancel", token: token).errorCode == "booking_not_cancellable")
            let ledger = try await fixtures.ledger(event: event)
            #expect(ledger.ticketsConserved && ledger.captured == 99_900 && ledger.refunds == 99_900 && ledger.confirmed == 0)
            let available: Int = try await deps.postgres.query("SELECT available_tickets FROM events WHERE id = $1", [event])[0].decode(0)
            #expect(available == 10)

            let answer = try await eventually("the refund status to read processed", every: .milliseconds(50)) {
                try await client.send(.get, "/api/cancellations/refund-status/\(refundID)", token: token).json()
            } until: {
                $0["status"] as? String == "processed"
            }
            #expect(answer["source"] as? String == "gateway" && answer["amount"] as? String == "999.00")
            let stored: String = try await deps.postgres.query("SELECT refund_status::text FROM payments WHERE refund_id = $1", [refundID])[0].decode(0)
            #expect(stored == "processed")
            #expect(try await client.send(.get, "/api/cancellations/refund-status/\(refundID)", token: stranger).status == .notFound)
            let after = try await client.send(.get, "/api/cancellations/my-cancellable", token: token).json()["cancellableBookings"] as? [[String: Any]]
            #expect(after?.contains { $0["id"] as? String == id } == false)
        }
    }

    @Test("inside 24 h a confirmed booking cannot be cancelled (the rule is in the answer); a pending one cancels with no refund")
    func rules() async throws {
        try await withPaymentServer { client, deps, gateway in
            let fixtures = PaymentFixtures(postgres: deps.postgres)
            let (token, user) = try await fixtures.buyer(client)
            let soon = try await fixtures.paidEvent(host: user, tickets: 10, hoursAhead: 10)
            let booking = try await fixtures.paidBooking(client, gateway, user: user, token: token, event: soon)
            let refused = try await client.send(.post, "/api/cancellations/\(booking.lowercasedText)/cancel", token: token)
            #expect(refused.status == .unprocessableContent && refused.errorCode == "too_late_to_cancel")
            #expect((try refused.json()["error"] as? String)?.contains("24 hours") == true)
            #expect(try await fixtures.bookingStatus(booking) == "confirmed")

            let later = try await fixtures.paidEvent(host: user, tickets: 10)
            let pending = try await fixtures.pendingBooking(user: user, event: later, tickets: 3)
            let released = try await client.send(.post, "/api/cancellations/\(pending.lowercasedText)/cancel", token: token)
            #expect(released.status == .ok)
            #expect(try released.json()["refund_id"] == nil || (try released.json()["refund_id"] is NSNull))
            let ledger = try await fixtures.ledger(event: later)
            #expect(ledger.ticketsConserved && ledger.refunds == 0)
        }
    }

    @Test("cancelling an event cancels every booking in batches and refunds every payment, also through gateway failures")
    func eventCancellation() async throws {
        let admin = uniqueEmail("admin").lowercased()
        try await withPaymentServer(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1"]) { client, deps, gateway in
            let fixtures = PaymentFixtures(postgres: deps.postgres)
            let (token, user) = try await fixtures.buyer(client)
            let event = try await fixtures.paidEvent(host: user, tickets: 500)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<60 {
                    if index >= 8 { try await group.next() }
                    group.addTask { _ = try await fixtures.paidBooking(client, gateway, user: user, token: token, event: event) }
                }
                try await group.waitForAll()
            }
            for _ in 0..<7 { _ = try await fixtures.pendingBooking(user: user, event: event, tickets: 2) }
            // The gateway refuses the first refunds: their intents must survive and be issued later.
            try await gateway.fault("/v1/payments/", times: 30)

            let adminToken = try await Fixtures.adminToken(client, email: admin)
            let id = event.lowercasedText
            #expect(try await client.send(.get, "/api/events/\(id)/cancellation", token: adminToken).errorCode == "not_cancelled")
            let cancelled = try await client.send(.post, "/api/events/\(id)/cancel", token: adminToken)
            #expect(cancelled.status == .ok)
            #expect(try cancelled.json()["progress_url"] as? String == "/api/events/\(id)/cancellation")
            let progress = try await eventually("the event's cancellation to finish", within: .seconds(120), every: .milliseconds(50)) {
                try await client.send(.get, "/api/events/\(id)/cancellation", token: adminToken).json()
            } until: {
                $0["status"] as? String == "done"
            }
            #expect(progress["status"] as? String == "done" && progress["bookings_remaining"] as? Int == 0 && progress["bookings_cancelled"] as? Int == 67)
            #expect(try await client.send(.get, "/api/events/\(id)/cancellation", token: token).status == .ok, "the event's creator may watch")
            let stranger = try await client.register(email: uniqueEmail())
            #expect(try await client.send(.get, "/api/events/\(id)/cancellation", token: stranger).status == .forbidden)

            try await gateway.clearFaults()
            try await eventually("every owed refund to reach the gateway") {
                _ = try await deps.payments.reconcile(minimumAge: .zero)
                return try await deps.postgres.query(
                    "SELECT count(*) FROM payments p JOIN bookings b ON b.id = p.booking_id WHERE b.event_id = $1 AND p.refund_status IS NOT NULL AND p.refund_id IS NULL",
                    [event])[0].decode(0, as: Int64.self)
            } until: {
                $0 == 0
            }
            let ledger = try await fixtures.ledger(event: event)
            #expect(ledger.ticketsConserved && ledger.confirmed == 0)
            #expect(ledger.captured == 60 * 49_950 && ledger.refunds == ledger.captured, "every payment is refunded exactly once")
            let available: Int = try await deps.postgres.query("SELECT available_tickets FROM events WHERE id = $1", [event])[0].decode(0)
            #expect(available == 500)
            #expect(try await client.send(.post, "/api/events/\(id)/cancel", token: adminToken).errorCode == "already_cancelled")
        }
    }
}
