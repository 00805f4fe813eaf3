import Foundation
import HappeningModel
import HappeningPostgres
import Hummingbird
import HummingbirdTesting
import Payments
import Razorpay
import TestSupport
import Testing

@testable import Server

@Suite("Payments: orders, verification, webhooks, refunds", .timeLimit(.minutes(10)))
struct PaymentRouteTests {
    @Test("one live order per booking (create and resume hand out the same one), only for the owner's pending booking")
    func orders() async throws {
        try await withPaymentServer { client, deps, _ in
            let fixtures = PaymentFixtures(postgres: deps.postgres)
            let (token, user) = try await fixtures.buyer(client)
            let event = try await fixtures.paidEvent(host: user)
            let booking = try await fixtures.pendingBooking(user: user, event: event, tickets: 2)

            let first = try await client.openOrder(booking, token: token)
            #expect(first.status == .ok)
            let body = try first.json()
            let order = try #require(body["order_id"] as? String)
            #expect(body["amount"] as? Int == 99_900 && body["currency"] as? String == "INR" && body["reused"] as? Bool == false)
            #expect(body["key_id"] as? String == RazorpayConfiguration.offlineKeyID && body["simulated"] as? Bool == true)
            for path in ["create-order", "resume-order"] {
                let again = try await client.openOrder(booking, token: token, path: path).json()
                #expect(again["order_id"] as? String == order && again["reused"] as? Bool == true)
            }

            let stranger = try await client.register(email: uniqueEmail())
            #expect(try await client.openOrder(booking, token: stranger).errorCode == "booking_not_found")
            #expect(try await client.send(.post, "/api/payments/create-order", json: #"{"booking_id":"nope"}"#, token: token).status == .badRequest)
            #expect(try await client.send(.post, "/api/payments/create-order", json: "{}").status == .unauthorized)
            try await deps.postgres.query("UPDATE bookings SET hold_expires_at = now() - interval '1 second' WHERE id = $1", [booking])
            #expect(try await client.openOrder(booking, token: token).errorCode == "hold_expired")
            try await deps.postgres.query("UPDATE bookings SET status = 'cancelled', hold_expires_at = NULL WHERE id = $1", [booking])
            let cancelled = try await client.openOrder(booking, token: token)
            #expect(cancelled.status == .unprocessableContent && cancelled.errorCode == "booking_not_pending")
        }
    }

    @Test("verify-payment: a good signature confirms; a bad one, another user's order or a foreign payment is refused")
    func verification() async throws {
        try await withPaymentServer { client, deps, gateway in
            let fixtures = PaymentFixtures(postgres: deps.postgres)
            let paid = try await fixtures.paidOrder(client, gateway)
            let (token, user, event, booking, order, payment, signature) = (
                paid.token, paid.user, paid.event, paid.booking, paid.order, paid.payment, paid.signature
            )
            let signed = try #require(signature)

            #expect(
                try await client.verify(order: order, payment: payment, signature: String(signed.reversed()), token: token).errorCode == "invalid_signature")
            let stranger = try await client.register(email: uniqueEmail())
            #expect(try await client.verify(order: order, payment: payment, signature: signed, token: stranger).errorCode == "order_not_found")
            #expect(try await fixtures.bookingStatus(booking) == "pending")

            let verified = try await client.verify(order: order, payment: payment, signature: signed, token: token)
            #expect(verified.status == .ok)
            #expect(try verified.json()["booking_status"] as? String == "confirmed")
            #expect(try await fixtures.bookingStatus(booking) == "confirmed")
            #expect(try await client.verify(order: order, payment: payment, signature: signed, token: token).status == .ok, "verifying twice is harmless")

            let status = try await client.send(.get, "/api/payments/status/\(booking.lowercasedText)", token: token)
            let row = try #require(try status.json()["payment"] as? [String: Any])
            #expect(row["status"] as? String == "captured" && row["razorpay_payment_id"] as? String == payment && row["amount"] as? String == "499.50")
            #expect(try await client.send(.get, "/api/payments/status/\(booking.lowercasedText)", token: stranger).status == .notFound)

            // A payment made on another booking's order cannot confirm this one.
            let other = try await fixtures.pendingBooking(user: user, event: event)
            let otherOrder = try await client.orderID(other, token: token)
            let forged = RazorpaySignature.checkout(orderID: otherOrder, paymentID: payment, keySecret: RazorpayConfiguration.offlineKeySecret)
            #expect(try await client.verify(order: otherOrder, payment: payment, signature: forged, token: token).errorCode == "payment_order_mismatch")
            let ledger = try await fixtures.ledger(event: event)
            #expect(ledger.captured - ledger.refunds == ledger.confirmed && ledger.ticketsConserved)
        }
    }

    @Test("cancel-pending and verify-payment fired together 200 times: never an oversell, every payment kept or refunded")
    func cancelVerifyRace() async throws {
        try await withPaymentServer { client, deps, gateway in
            let fixtures = PaymentFixtures(postgres: deps.postgres)
            let (token, user) = try await fixtures.buyer(client)
            let event = try await fixtures.paidEvent(host: user, tickets: 200)
            let outcomes = LockedValue<[String: Int]>([:])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for round in 0..<200 {
                    if round >= 8 { try await group.next() }
                    group.addTask {
                        let booking = try await fixtures.pendingBooking(user: user, event: event)
                        let order = try await client.orderID(booking, token: token)
                        let (payment, signature) = try await gateway.pay(order: order)
                        async let cancel = client.send(.post, "/api/bookings/\(booking.lowercasedText)/cancel-pending", token: token)
                        async let verify = client.verify(order: order, payment: payment, signature: signature ?? "", token: token)
                        let (cancelled, verified) = try await (cancel, verify)
                        let final = try await fixtures.bookingStatus(booking)
                        if verified.status == .ok {
                            #expect(final == "confirmed" && cancelled.status == .notFound)
                        } else {
                            #expect(verified.status == .conflict && verified.errorCode == "payment_refunded" && cancelled.status == .ok && final == "cancelled")
                        }
                        outcomes.withLock { $0[final, default: 0] += 1 }
                    }
                }
                try await group.waitForAll()
            }
            let ledger = try await fixtures.ledger(event: event)
            #expect(ledger.ticketsConserved, "tickets were lost or sold twice")
            #expect(ledger.captured == 200 * 49_950, "every payment was captured once")
            #expect(ledger.captured - ledger.refunds == ledger.confirmed, "kept money equals confirmed bookings")
            #expect(outcomes.value.values.reduce(0, +) == 200)
            let available: Int = try await deps.postgres.query("SELECT available_tickets FROM events WHERE id = $1", [event])[0].decode(0)
            #expect(available == 200 - (outcomes.value["confirmed"] ?? 0))
        }
    }

    @Test("webhooks: signed payment.captured confirms (closed browser), a replay is a duplicate, a bad signature is refused")
    func webhooks() async throws {
        try await withPaymentServer { client, deps, gateway in
            let fixtures = PaymentFixtures(postgres: deps.postgres)
            let paid = try await fixtures.paidOrder(client, gateway)
            let (event, booking, order, payment) = (paid.event, paid.booking, paid.order, paid.payment)
            let body =
                #"{"entity":"event","event":"payment.captured","contains":["payment"],"payload":{"payment":{"entity":{"id":"\#(payment)","entity":"payment","amount":49950,"currency":"INR","status":"captured","order_id":"\#(order)","method":"upi","captured":true,"amount_refunded":0,"notes":{},"created_at":1}}},"created_at":1}"#
            let signature = RazorpaySignature.sign(Data(body.utf8), secret: RazorpayConfiguration.offlineWebhookSecret)
            let eventID = "evt_\(TestEnvironment.uniqueSuffix())"
            func deliver(_ signature: String, id: String = eventID) async throws -> TestResponse {
                try await client.execute(
                    uri: "/api/payments/webhook", method: .post,
                    headers: [.contentType: "application/json", .init("X-Razorpay-Signature")!: signature, .init("X-Razorpay-Event-Id")!: id],
                    body: ByteBuffer(string: body))
            }
            #expect(try await deliver(String(repeating: "0", count: 64)).errorCode == "invalid_signature")
            #expect(try await fixtures.bookingStatus(booking) == "pending")
            let first = try await deliver(signature)
            #expect(first.status == .ok)
            #expect(try first.json()["status"] as? String == "processed")
            #expect(try await fixtures.bookingStatus(booking) == "confirmed")
            #expect(try await deliver(signature).json()["status"] as? String == "duplicate")
            #expect(
                try await deliver(signature, id: eventID + "-again").json()["status"] as? String == "processed",
                "a new event id for the same payment changes nothing")
            let ledger = try await fixtures.ledger(event: event)
            #expect(ledger.captured == 49_950 && ledger.refunds == 0 && ledger.confirmed == 49_950)
        }
    }

    @Test("a gateway failure mid-refund leaves an intent the reconcile pass finishes")
    func refundReconciled() async throws {
        try await withPaymentServer { client, deps, gateway in
            let fixtures = PaymentFixtures(postgres: deps.postgres)
            let paid = try await fixtures.paidOrder(client, gateway)
            let (token, event, booking, order, payment, signature) = (paid.token, paid.event, paid.booking, paid.order, paid.payment, paid.signature)
            #expect(try await client.send(.post, "/api/bookings/\(booking.lowercasedText)/cancel-pending", token: token).status == .ok)

            try await gateway.fault("/v1/payments/\(payment)/refund")
            let verified = try await client.verify(order: order, payment: payment, signature: signature ?? "", token: token)
            #expect(verified.status == .conflict && verified.errorCode == "payment_refunded")
            let details = try #require(try verified.json()["details"] as? [String: String])
            #expect(details["refund_status"] == "pending" && details["refund_id"] == nil, "the gateway refused, so only the intent is recorded")
            var ledger = try await fixtures.ledger(event: event)
            #expect(ledger.captured - ledger.refunds == ledger.confirmed, "money owed back counts as refunded")

            try await gateway.clearFaults()
            let pass = try await deps.payments.reconcile(minimumAge: .zero)
            #expect(pass.refundsIssued >= 1)
            // The gateway settles refunds after 50 ms; later passes ask it (the test's database holds its payments only).
            let refund = try await eventually("the refund to be reconciled as processed", every: .milliseconds(100)) {
                _ = try await deps.payments.reconcile(minimumAge: .zero)
                let row = try await deps.postgres.query("SELECT refund_id, refund_status::text FROM payments WHERE payment_intent_id = $1", [order])[0]
                return (try row.decode(0, as: String?.self), try row.decode(1, as: String?.self))
            } until: {
                $0.1 == "processed"
            }
            #expect(refund.0 != nil && refund.1 == "processed")
            ledger = try await fixtures.ledger(event: event)
            #expect(ledger.captured == 49_950 && ledger.refunds == 49_950 && ledger.confirmed == 0 && ledger.ticketsConserved)
            _ = try await deps.payments.reconcile(minimumAge: .zero)
            let after: String? = try await deps.postgres.query("SELECT refund_id FROM payments WHERE payment_intent_id = $1", [order])[0].decode(0)
            #expect(after == refund.0, "another pass issues no second refund")
        }
    }
}
