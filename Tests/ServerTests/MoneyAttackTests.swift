import Foundation
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

/// Attacks on the money paths from the security review of 2026-12-06 (`shared/reference/security-audit-2026-12-06.md`),
/// each against a real server, PostgreSQL and offline gateway. Every test fails on the code before its fix.
@Suite("Money under attack", .timeLimit(.minutes(10)))
struct MoneyAttackTests {
    /// A payment server with an admin, an approved payout-eligible host and a buyer, as the money tests start.
    struct Marketplace: Sendable {
        let client: any TestClientProtocol
        let deps: AppDependencies
        let gateway: TestGateway
        let fixtures: PaymentFixtures
        let host: (token: String, id: UUID)
        let buyer: (token: String, id: UUID)
        let adminToken: String
    }

    /// Runs `body` in a fresh ``Marketplace``; `settlementHours` is the server's PAYOUT_SETTLEMENT_HOURS.
    private func withMarketplace(settlementHours: Int = 48, _ body: @Sendable (Marketplace) async throws -> Void) async throws {
        let admin = uniqueEmail("admin").lowercased()
        let settings = ["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1", "PAYOUT_SETTLEMENT_HOURS": String(settlementHours)]
        try await withPaymentServer(settings) { client, deps, gateway in
            let fixtures = PaymentFixtures(postgres: deps.postgres)
            let host = try await payableHost(client, fixtures)
            let buyer = try await fixtures.buyer(client)
            try await body(
                Marketplace(
                    client: client, deps: deps, gateway: gateway, fixtures: fixtures, host: host, buyer: buyer,
                    adminToken: try await Fixtures.adminToken(client, email: admin)))
        }
    }

    /// An approved host with a payout-eligible bank account: its token and id.
    private func payableHost(_ client: some TestClientProtocol, _ fixtures: PaymentFixtures) async throws -> (token: String, id: UUID) {
        let email = uniqueEmail("host")
        let token = try await client.register(email: email)
        let id = try await fixtures.userID(email: email)
        try await fixtures.postgres.query("UPDATE users SET is_host = true, host_status = 'approved' WHERE id = $1", [id])
        try await fixtures.postgres.query(
            """
            INSERT INTO host_bank_accounts (user_id, account_holder_name, account_number, ifsc_code, bank_name, is_verified, is_payout_eligible, verified_at)
            VALUES ($1, 'Asha Rao', '001122334455', 'HDFC0001234', 'HDFC Bank', true, true, now())
            """, [id])
        return (token, id)
    }

    @Test("attack (critical): a host paid out for an event cannot cancel it or move its date, so buyers are not refunded from the platform's pocket")
    func paidOutHostCannotCancel() async throws {
        try await withMarketplace { market in
            let (client, deps, fixtures, host, adminToken) = (market.client, market.deps, market.fixtures, market.host, market.adminToken)
            let event = try await fixtures.paidEvent(host: host.id, tickets: 20)
            for _ in 0..<3 {
                _ = try await fixtures.paidBooking(client, market.gateway, user: market.buyer.id, token: market.buyer.token, event: event, tickets: 2)
            }
            let id = event.lowercasedText

            // The event happened yesterday: inside the settlement period nobody is paid, and the host cannot cancel.
            try await deps.postgres.query("UPDATE events SET date_time = now() - interval '1 day' WHERE id = $1", [event])
            let early = try await client.send(.post, "/api/hosts/payouts/create", json: #"{"event_id":"\#(id)"}"#, token: adminToken)
            #expect(early.errorCode == "event_not_payable", "paid only after the settlement period")
            #expect(try await client.send(.post, "/api/events/\(id)/cancel", token: host.token).errorCode == "event_started")
            let later = ISO8601DateFormatter().string(from: Date().addingTimeInterval(30 * 86_400))
            let moved = try await client.send(.put, "/api/events/\(id)", json: #"{"date_time":"\#(later)"}"#, token: host.token)
            #expect(moved.errorCode == "event_started", "a past event's date cannot be moved forward by its host")

            // Past the settlement period the host is paid; after that neither host nor (without saying so) admin cancels.
            try await deps.postgres.query("UPDATE events SET date_time = now() - interval '3 days' WHERE id = $1", [event])
            #expect(try await client.send(.post, "/api/hosts/payouts/create", json: #"{"event_id":"\#(id)"}"#, token: adminToken).status == .ok)
            #expect(try await client.send(.post, "/api/events/\(id)/cancel", token: host.token).errorCode == "event_started")
            #expect(try await client.send(.post, "/api/events/\(id)/cancel", token: adminToken).errorCode == "payout_exists")
            let ledger = try await fixtures.ledger(event: event)
            #expect(ledger.refunds == 0 && ledger.confirmed == 3 * 2 * 49_950, "no buyer was refunded")

            // The admin's explicit override does cancel and refund (the platform's own decision).
            let override = try await client.send(.post, "/api/events/\(id)/cancel", json: #"{"refund_after_payout":true}"#, token: adminToken)
            #expect(override.status == .ok)
        }
    }

    @Test("attack: a host cannot cancel an upcoming event after an admin paid it out early, nor be paid for a cancelled event")
    func payoutAndCancellationExcludeEachOther() async throws {
        try await withMarketplace(settlementHours: 0) { market in
            let (client, deps, fixtures, host, adminToken) = (market.client, market.deps, market.fixtures, market.host, market.adminToken)
            let (gateway, buyerToken, buyer) = (market.gateway, market.buyer.token, market.buyer.id)

            // A cancelled event is never payable, and not listed as payable.
            let cancelled = try await fixtures.paidEvent(host: host.id, tickets: 10)
            _ = try await fixtures.paidBooking(client, gateway, user: buyer, token: buyerToken, event: cancelled)
            #expect(try await client.send(.post, "/api/events/\(cancelled.lowercasedText)/cancel", token: host.token).status == .ok)
            try await deps.postgres.query("UPDATE events SET date_time = now() - interval '1 hour' WHERE id = $1", [cancelled])
            let refused = try await client.send(.post, "/api/hosts/payouts/create", json: #"{"event_id":"\#(cancelled.lowercasedText)"}"#, token: adminToken)
            #expect(refused.errorCode == "event_not_payable")
            let payable = try await client.send(.get, "/api/hosts/admin/payable-events?limit=100", token: adminToken).json()
            #expect(!((payable["events"] as? [[String: Any]]) ?? []).contains { $0["id"] as? String == cancelled.lowercasedText })

            // A payout recorded (here straight into the table, as a concurrent admin's would be) shuts the host out.
            let upcoming = try await fixtures.paidEvent(host: host.id, tickets: 10)
            try await deps.postgres.query(
                "INSERT INTO payouts (host_id, event_id, amount, status) VALUES ($1, $2, 100.00, 'processing')", [host.id, upcoming])
            let cancel = try await client.send(.post, "/api/events/\(upcoming.lowercasedText)/cancel", token: host.token)
            #expect(cancel.errorCode == "payout_exists")
            let edit = try await client.send(.put, "/api/events/\(upcoming.lowercasedText)", json: #"{"title":"Renamed"}"#, token: host.token)
            #expect(edit.errorCode == "payout_exists")
        }
    }

    @Test("attack: a payment settling while its event is cancelled ends refunded, never confirmed on a cancelled event")
    func cancellationWaitsForSettlingPayment() async throws {
        try await withPaymentServer { client, deps, gateway in
            let fixtures = PaymentFixtures(postgres: deps.postgres)
            let (token, user) = try await fixtures.buyer(client)
            let event = try await fixtures.paidEvent(host: user, tickets: 50)
            for _ in 0..<3 { _ = try await fixtures.paidBooking(client, gateway, user: user, token: token, event: event) }
            let settling = try await fixtures.pendingBooking(user: user, event: event)
            let order = try await client.orderID(settling, token: token)
            let (payment, _) = try await gateway.pay(order: order)

            // A settlement in progress: its transaction holds the booking's row lock and has not seen the cancellation.
            let postgres = PostgresClient(configuration: .init(url: deps.postgres.configuration.url, poolSize: 1))
            let lockHeld = AsyncStream<Void>.makeStream()
            let release = AsyncStream<Void>.makeStream()
            async let settlement: Void = postgres.withTransaction { tx in
                _ = try await tx.query("SELECT 1 FROM bookings WHERE id = $1 FOR UPDATE", [settling])
                lockHeld.continuation.yield()
                for await _ in release.stream { break }
                try await tx.query("UPDATE bookings SET status = 'confirmed', hold_expires_at = NULL WHERE id = $1", [settling])
                try await tx.query(
                    "UPDATE payments SET status = 'captured', razorpay_payment_id = $2 WHERE payment_intent_id = $1", [order, payment])
            }
            for await _ in lockHeld.stream { break }

            #expect(try await deps.cancellations.startEventCancellation(event, by: user, as: .admin(refundAfterPayout: false)) == .started)
            let run = Task { try await deps.cancellations.runEventCancellation(event, batchSize: 2) }
            // The other bookings are cancelled; the job then waits for the settling one instead of finishing without it.
            try await eventually("the cancellable bookings to be cancelled") {
                try await deps.postgres.query("SELECT count(*) FROM bookings WHERE event_id = $1 AND status = 'cancelled'", [event])[0].decode(
                    0, as: Int64.self)
            } until: {
                $0 == 3
            }
            let status: String = try await deps.postgres.query("SELECT status FROM event_cancellations WHERE event_id = $1", [event])[0].decode(0)
            #expect(status == "running", "the job must not finish while a booking of the event is being settled")
            release.continuation.yield()
            try await settlement
            #expect(try await run.value)
            await postgres.shutdown()

            #expect(try await fixtures.bookingStatus(settling) == "cancelled")
            let refund: String? = try await deps.postgres.query("SELECT refund_status::text FROM payments WHERE payment_intent_id = $1", [order])[0].decode(0)
            #expect(refund == "pending" || refund == "processed", "the settled payment is owed back")
            let ledger = try await fixtures.ledger(event: event)
            #expect(ledger.confirmed == 0 && ledger.refunds == ledger.captured && ledger.ticketsConserved)
        }
    }

    @Test("attack: a capture arriving after its event was cancelled is refunded, and the pending booking is not confirmed")
    func captureOnCancelledEventIsRefunded() async throws {
        try await withPaymentServer { client, deps, gateway in
            let fixtures = PaymentFixtures(postgres: deps.postgres)
            let (token, user) = try await fixtures.buyer(client)
            let event = try await fixtures.paidEvent(host: user, tickets: 10)
            let booking = try await fixtures.pendingBooking(user: user, event: event)
            let order = try await client.orderID(booking, token: token)
            let (payment, _) = try await gateway.pay(order: order)
            try await deps.postgres.query("UPDATE events SET is_cancelled = true WHERE id = $1", [event])
            let settled = try await deps.payments.settle(orderID: order, paymentID: payment, amountPaise: 49_950)
            guard case .refunding = settled else {
                Issue.record("a capture on a cancelled event's booking must be refunded, got \(settled)")
                return
            }
            #expect(try await fixtures.bookingStatus(booking) == "pending")
        }
    }

    @Test("attack: a double debit on one order (two captures) keeps the first payment and refunds the second on a row of its own")
    func secondCaptureGetsItsOwnRow() async throws {
        try await withPaymentServer { client, deps, gateway in
            let fixtures = PaymentFixtures(postgres: deps.postgres)
            let paid = try await fixtures.paidOrder(client, gateway)
            #expect(try await client.verify(order: paid.order, payment: paid.payment, signature: paid.signature ?? "", token: paid.token).status == .ok)
            let (second, signature) = try await gateway.pay(order: paid.order)
            let answer = try await client.verify(order: paid.order, payment: second, signature: signature ?? "", token: paid.token)
            #expect(answer.errorCode == "payment_refunded", "the customer is told the second payment goes back")
            // Replayed: nothing changes.
            _ = try await client.verify(order: paid.order, payment: second, signature: signature ?? "", token: paid.token)

            let rows = try await deps.postgres.query(
                "SELECT razorpay_payment_id, refund_status::text, extra_capture FROM payments WHERE payment_intent_id = $1 ORDER BY extra_capture",
                [paid.order])
            #expect(rows.count == 2)
            #expect(try rows[0].decode(0, as: String.self) == paid.payment && (try rows[0].decode(1, as: String?.self)) == nil, "the kept payment is untouched")
            #expect(try rows[1].decode(0, as: String.self) == second && (try rows[1].decode(1, as: String?.self)) != nil, "the second is refunded")
            #expect(try await fixtures.bookingStatus(paid.booking) == "confirmed")

            // Cancelling the booking later refunds the first payment too: both refunded, nothing kept.
            #expect(try await client.send(.post, "/api/cancellations/\(paid.booking.lowercasedText)/cancel", token: paid.token).status == .ok)
            let ledger = try await fixtures.ledger(event: paid.event)
            #expect(ledger.captured == 2 * 49_950 && ledger.refunds == ledger.captured)
        }
    }

    @Test("attack: a refund the gateway already made (its answer lost) is recorded, not left pending forever")
    func alreadyRefundedIsRecorded() async throws {
        try await withPaymentServer { client, deps, gateway in
            let fixtures = PaymentFixtures(postgres: deps.postgres)
            let paid = try await fixtures.paidOrder(client, gateway)
            #expect(try await client.verify(order: paid.order, payment: paid.payment, signature: paid.signature ?? "", token: paid.token).status == .ok)
            // The whole payment was refunded at the gateway by an attempt whose key we no longer hold.
            let earlier = try await deps.payments.gateway.createRefund(paymentID: paid.payment, amount: 49_950, receipt: "lost-attempt-0001")
            try await deps.postgres.query(
                """
                UPDATE payments SET refund_status = 'pending', refund_amount = amount, refund_attempts = refund_attempts + 1, updated_at = now() - interval '1 hour'
                WHERE payment_intent_id = $1
                """, [paid.order])
            _ = try await deps.payments.reconcile(minimumAge: .zero)
            let recorded: String? = try await deps.postgres.query("SELECT refund_id FROM payments WHERE payment_intent_id = $1", [paid.order])[0].decode(0)
            #expect(recorded == earlier.id)
        }
    }

    @Test("attack: a payout the gateway rejects (a bad IFSC) is failed, not re-sent forever; a failed or reversed one can be made again")
    func rejectedPayoutCanBeRetried() async throws {
        try await withMarketplace(settlementHours: 0) { market in
            let (client, deps, fixtures, host, adminToken) = (market.client, market.deps, market.fixtures, market.host, market.adminToken)
            let (gateway, buyerToken, buyer) = (market.gateway, market.buyer.token, market.buyer.id)
            let event = try await fixtures.paidEvent(host: host.id, tickets: 10)
            _ = try await fixtures.paidBooking(client, gateway, user: buyer, token: buyerToken, event: event, tickets: 2)
            try await deps.postgres.query("UPDATE events SET date_time = now() - interval '1 hour' WHERE id = $1", [event])
            let body = #"{"event_id":"\#(event.lowercasedText)"}"#

            try await gateway.fault("/v1/payouts", status: 400, times: 1)
            let rejected = try await client.send(.post, "/api/hosts/payouts/create", json: body, token: adminToken).json()
            #expect((rejected["payout"] as? [String: Any])?["status"] as? String == "failed")
            let retry = try await client.send(.post, "/api/hosts/payouts/create", json: body, token: adminToken).json()
            #expect((retry["payout"] as? [String: Any])?["status"] as? String == "processing")
            #expect(try await client.send(.post, "/api/hosts/payouts/create", json: body, token: adminToken).errorCode == "payout_exists")

            // A processed payout the bank later reverses is recorded as reversed (RazorpayX's processed → reversed), is not
            // counted as paid, and the event may be paid out again.
            let gatewayID = try #require((retry["payout"] as? [String: Any])?["razorpay_payout_id"] as? String)
            try await deps.postgres.query("UPDATE payouts SET status = 'processed' WHERE razorpay_payout_id = $1", [gatewayID])
            try await deps.payouts.update(gatewayID: gatewayID, status: "reversed", failureReason: "beneficiary account closed")
            let status: String = try await deps.postgres.query("SELECT status::text FROM payouts WHERE razorpay_payout_id = $1", [gatewayID])[0].decode(0)
            #expect(status == "reversed")
            let mine = try await client.send(.get, "/api/hosts/my-payouts", token: host.token).json()
            #expect(mine["total_amount"] as? String == "0.00")
            #expect(try await client.send(.post, "/api/hosts/payouts/create", json: body, token: adminToken).status == .ok)
        }
    }
}
