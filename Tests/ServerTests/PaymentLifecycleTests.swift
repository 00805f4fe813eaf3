import BookingEngine
import EventAvailability
import Foundation
import HappeningHTTP
import HappeningModel
import HappeningPostgres
import Hummingbird
import HummingbirdTesting
import Logging
import Payments
import Razorpay
import TestSupport
import Testing

@testable import Server

/// The payment lifecycle around the happy path: expired holds, failed payments and failed refunds.
@Suite("Payments: expired holds, failed payments, failed refunds", .timeLimit(.minutes(10)))
struct PaymentLifecycleTests {
    /// A signed webhook as the gateway would send it.
    private func deliver(_ client: some TestClientProtocol, event: String, payload: String) async throws -> TestResponse {
        let body = #"{"entity":"event","event":"\#(event)","payload":\#(payload),"created_at":1}"#
        let signature = RazorpaySignature.sign(Data(body.utf8), secret: RazorpayConfiguration.offlineWebhookSecret)
        return try await client.execute(
            uri: "/api/payments/webhook", method: .post,
            headers: [
                .contentType: "application/json", .init("X-Razorpay-Signature")!: signature,
                .init("X-Razorpay-Event-Id")!: "evt_\(TestEnvironment.uniqueSuffix())",
            ],
            body: ByteBuffer(string: body))
    }

    @Test("a payment that arrives after the hold expired (and the sweeper released the tickets) is refunded, never confirmed")
    func expiredHold() async throws {
        try await withPaymentServer { client, deps, gateway in
            let fixtures = PaymentFixtures(postgres: deps.postgres)
            let paid = try await fixtures.paidOrder(client, gateway, tickets: 1)
            let (token, user, event, booking, order, payment, signature) = (
                paid.token, paid.user, paid.event, paid.booking, paid.order, paid.payment, paid.signature
            )

            try await deps.postgres.query("UPDATE bookings SET hold_expires_at = now() - interval '1 second' WHERE id = $1", [booking])
            let sweeper = HoldSweeper(postgres: deps.postgres, notifier: AvailabilityNotifier.disabled, logger: Logger(label: "test"))
            // This sweep or another test's (they share the database) cancels the hold.
            try await eventually("the expired hold to be swept") {
                try await sweeper.sweep()
                return try await fixtures.bookingStatus(booking) == "cancelled"
            }
            // Someone else takes the released ticket.
            let other = try await fixtures.pendingBooking(user: user, event: event)
            let verified = try await client.verify(order: order, payment: payment, signature: signature ?? "", token: token)
            #expect(verified.status == .conflict && verified.errorCode == "payment_refunded")
            #expect((try verified.json()["details"] as? [String: String])?["booking_status"] == "cancelled")
            #expect(try await fixtures.bookingStatus(booking) == "cancelled")
            #expect(try await fixtures.bookingStatus(other) == "pending")
            let ledger = try await fixtures.ledger(event: event)
            #expect(ledger.ticketsConserved && ledger.captured == ledger.refunds && ledger.confirmed == 0, "one ticket, never sold twice")

            let mine = try await client.send(.get, "/api/bookings/my-bookings?limit=100", token: token).json()["bookings"] as? [[String: Any]] ?? []
            let rows = mine.filter { $0["id"] as? String == booking.lowercasedText }
            #expect(rows.count == 1 && rows.first?["payment_status"] as? String == "refund_pending", "one row per booking: \(rows)")
        }
    }

    @Test("payment.failed marks the order failed and the next create-order makes a new one; refund.failed is retried with a new receipt")
    func failures() async throws {
        // Refunds stay pending at this gateway until the test bounces one.
        try await withPaymentServer(settleMilliseconds: 600_000) { client, deps, gateway in
            let fixtures = PaymentFixtures(postgres: deps.postgres)
            let (token, user) = try await fixtures.buyer(client)
            let event = try await fixtures.paidEvent(host: user, tickets: 10)
            let booking = try await fixtures.pendingBooking(user: user, event: event)
            let first = try await client.orderID(booking, token: token)
            let (declined, _) = try await gateway.pay(order: first, outcome: "failed")
            let failed = try await deliver(
                client, event: "payment.failed",
                payload:
                    #"{"payment":{"entity":{"id":"\#(declined)","entity":"payment","amount":49950,"currency":"INR","status":"failed","order_id":"\#(first)","captured":false,"amount_refunded":0,"notes":{},"created_at":1}}}"#
            )
            #expect(try failed.json()["status"] as? String == "processed")
            let second = try await client.openOrder(booking, token: token).json()
            #expect(second["order_id"] as? String != first && second["reused"] as? Bool == false, "a failed order is not handed out again")
            let order = try #require(second["order_id"] as? String)
            let (payment, signature) = try await gateway.pay(order: order)
            #expect(try await client.verify(order: order, payment: payment, signature: signature ?? "", token: token).status == .ok)

            let cancelled = try await client.send(.post, "/api/cancellations/\(booking.lowercasedText)/cancel", token: token).json()
            let refundID = try #require(cancelled["refund_id"] as? String)
            // The bank bounces the refund: the gateway says so, and the next pass issues a new one (attempt 2).
            let bounced = try await gateway.post("/_sim/refunds/\(refundID)/fail", "{}")
            #expect(bounced.status == 200)
            let notice = try await deliver(
                client, event: "refund.failed",
                payload:
                    #"{"refund":{"entity":{"id":"\#(refundID)","entity":"refund","amount":49950,"currency":"INR","payment_id":"\#(payment)","status":"failed","notes":{},"created_at":1}}}"#
            )
            #expect(try notice.json()["status"] as? String == "processed")
            try await eventually("a second refund to be issued") {
                _ = try await deps.payments.reconcile(minimumAge: .zero)
                return try await deps.postgres.query("SELECT refund_id FROM payments WHERE payment_intent_id = $1", [order])[0].decode(0, as: String?.self)
            } until: {
                $0 != nil && $0 != refundID
            }
            let attempts: Int = try await deps.postgres.query("SELECT refund_attempts FROM payments WHERE payment_intent_id = $1", [order])[0].decode(0)
            #expect(attempts == 2)
            let ledger = try await fixtures.ledger(event: event)
            #expect(ledger.captured == 49_950 && ledger.refunds == 49_950 && ledger.confirmed == 0 && ledger.ticketsConserved)
        }
    }
}
