import Foundation
import HappeningHTTP
import HappeningModel
import HappeningPostgres
import Hummingbird
import HummingbirdTesting
import Razorpay
import TestSupport
import Testing

@testable import Server

/// A running offline gateway (`happening-offline-razorpay`) for one test, and the customer's side of checkout.
struct TestGateway: Sendable {
    let base: String
    let process: ChildProcess

    static func start(settleMilliseconds: Int = 50) async throws -> TestGateway {
        let (process, port) = try await ChildProcess.startServing("happening-offline-razorpay", path: "/_sim/webhooks") { port in
            ["GATEWAY_PORT": String(port), "GATEWAY_SETTLE_MS": String(settleMilliseconds)]
        }
        return TestGateway(base: "http://127.0.0.1:\(port)", process: process)
    }

    /// Runs `body` while the gateway runs, then stops it (also when `body` throws).
    func whileRunning<T>(_ body: () async throws -> T) async throws -> T { try await process.whileRunning(body) }

    @discardableResult
    func post(_ path: String, _ json: String) async throws -> HTTPClientResponse {
        try await TestHTTP.send(
            HTTPClientRequest(
                method: "POST", url: base + path, headers: [("Content-Type", "application/json")],
                body: Array(json.utf8), timeout: Patience.standard))
    }

    /// Pays `order` as the customer would; returns what Checkout hands the browser.
    func pay(order: String, outcome: String = "captured", webhook: Bool = false) async throws -> (paymentID: String, signature: String?) {
        let response = try await post("/_sim/checkout", #"{"order_id":"\#(order)","outcome":"\#(outcome)","webhook":\#(webhook)}"#)
        let body = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] ?? [:]
        return (body["razorpay_payment_id"] as? String ?? "", body["razorpay_signature"] as? String)
    }

    /// Makes calls whose path starts with `prefix` fail (`status` 0: only slow) for the next `times` calls.
    func fault(_ prefix: String, method: String = "POST", status: Int = 503, times: Int = 100, delayMilliseconds: Int = 0) async throws {
        try await post(
            "/_sim/faults", #"{"method":"\#(method)","path_prefix":"\#(prefix)","status":\#(status),"times":\#(times),"delay_ms":\#(delayMilliseconds)}"#)
    }

    func clearFaults() async throws {
        _ = try await TestHTTP.send(HTTPClientRequest(method: "DELETE", url: base + "/_sim/faults"))
    }
}

/// Runs `body` with a server whose payments go to a fresh offline gateway, on a database of its own (the schema applied
/// to a scratch database): a reconcile pass sees this test's payments only, never the open refunds other tests (and
/// earlier runs on the same machine) left behind for gateways that are gone — thousands on a long-lived test database,
/// which pushed this test's refund past its deadline on a busy machine.
func withPaymentServer(
    _ overrides: [String: String] = [:], settleMilliseconds: Int = 50,
    _ body: @Sendable (any TestClientProtocol, AppDependencies, TestGateway) async throws -> Void
) async throws {
    try await TestEnvironment.withScratchDatabase(prefix: "payments") { databaseURL in
        let schema = try await TestEnvironment.applySchema(databaseURL)
        guard schema.status == 0 else { throw SchemaNotApplied(output: schema.output) }
        try await withPaymentServer(overrides.merging(["DATABASE_URL": databaseURL]) { $1 }, settleMilliseconds: settleMilliseconds, gatewayAndServer: body)
    }
}

/// init.sql failed on a scratch database.
struct SchemaNotApplied: Error, CustomStringConvertible {
    var output: String
    var description: String { "init.sql failed on the scratch database: \(output)" }
}

private func withPaymentServer(
    _ overrides: [String: String], settleMilliseconds: Int,
    gatewayAndServer body: @Sendable (any TestClientProtocol, AppDependencies, TestGateway) async throws -> Void
) async throws {
    let gateway = try await TestGateway.start(settleMilliseconds: settleMilliseconds)
    try await gateway.whileRunning {
        try await withServerAndDependencies(overrides.merging(["RAZORPAY_BASE_URL": gateway.base]) { $1 }) { client, deps in
            try await body(client, deps, gateway)
        }
    }
}

/// Rows a payment test needs, written straight into the database (the booking flow itself is tested elsewhere).
struct PaymentFixtures {
    let postgres: PostgresClient

    /// An approved paid event (499.50 a ticket) a week ahead (or `hoursAhead`), created by `host`.
    func paidEvent(host: UUID, tickets: Int = 1_000, hoursAhead: Int = 24 * 7) async throws -> UUID {
        try await postgres.query(
            """
            INSERT INTO events (created_by, title, date_time, venue, total_tickets, available_tickets, price, category, approval_status)
            VALUES ($1, 'Paid gig', now() + make_interval(hours => $3), 'Hall', $2, $2, 499.50, 'music', 'approved') RETURNING id
            """, [host, tickets, hoursAhead])[0].decode(0)
    }

    /// A pending hold of `tickets` on `event` for `user` (the tickets are taken off the event, as the worker does).
    func pendingBooking(user: UUID, event: UUID, tickets: Int = 1) async throws -> UUID {
        try await postgres.withTransaction { tx in
            try await tx.query("UPDATE events SET available_tickets = available_tickets - $2 WHERE id = $1", [event, tickets])
            return try await tx.query(
                """
                INSERT INTO bookings (user_id, event_id, ticket_count, total_amount, status, hold_expires_at)
                SELECT $1, id, $3::int, price * $3::int, 'pending', now() + interval '15 minutes' FROM events WHERE id = $2 RETURNING id
                """, [user, event, tickets])[0].decode(0)
        }
    }

    /// A newly registered user: their token and id.
    func buyer(_ client: some TestClientProtocol) async throws -> (token: String, id: UUID) {
        let email = uniqueEmail()
        let token = try await client.register(email: email)
        return (token, try await userID(email: email))
    }

    /// A buyer whose pending hold on a fresh paid event has an order that the gateway says is paid (not yet verified).
    struct PaidOrder {
        let token: String
        let user: UUID
        let event: UUID
        let booking: UUID
        let order: String
        let payment: String
        let signature: String?
    }

    func paidOrder(_ client: some TestClientProtocol, _ gateway: TestGateway, tickets: Int = 1_000) async throws -> PaidOrder {
        let (token, user) = try await buyer(client)
        let event = try await paidEvent(host: user, tickets: tickets)
        let booking = try await pendingBooking(user: user, event: event)
        let order = try await client.orderID(booking, token: token)
        let (payment, signature) = try await gateway.pay(order: order)
        return PaidOrder(token: token, user: user, event: event, booking: booking, order: order, payment: payment, signature: signature)
    }

    /// A confirmed, paid booking made through the real routes: a hold, its order, checkout at the gateway, verify.
    func paidBooking(
        _ client: some TestClientProtocol, _ gateway: TestGateway, user: UUID, token: String, event: UUID,
        tickets: Int = 1
    ) async throws -> UUID {
        let booking = try await pendingBooking(user: user, event: event, tickets: tickets)
        let order = try await client.orderID(booking, token: token)
        let (payment, signature) = try await gateway.pay(order: order)
        #expect(try await client.verify(order: order, payment: payment, signature: signature ?? "", token: token).status == .ok)
        return booking
    }

    func userID(email: String) async throws -> UUID {
        try await postgres.query("SELECT id FROM users WHERE lower(email) = lower($1)", [email])[0].decode(0)
    }

    func bookingStatus(_ id: UUID) async throws -> String {
        try await postgres.query("SELECT status::text FROM bookings WHERE id = $1", [id])[0].decode(0)
    }

    /// The money ledger of one event: paise captured, paise refunded or owed back, paise of confirmed bookings,
    /// and whether its tickets add up (available + held = total).
    func ledger(event: UUID) async throws -> (captured: Int64, refunds: Int64, confirmed: Int64, ticketsConserved: Bool) {
        let row = try await postgres.query(
            """
            SELECT (SELECT coalesce(sum(p.amount * 100), 0)::bigint FROM payments p JOIN bookings b ON b.id = p.booking_id
                     WHERE b.event_id = $1 AND p.status = 'captured'),
                   (SELECT coalesce(sum(p.refund_amount * 100), 0)::bigint FROM payments p JOIN bookings b ON b.id = p.booking_id
                     WHERE b.event_id = $1 AND p.refund_status IN ('pending', 'processed')),
                   (SELECT coalesce(sum(total_amount * 100), 0)::bigint FROM bookings WHERE event_id = $1 AND status = 'confirmed'),
                   (SELECT e.available_tickets + coalesce(sum(b.ticket_count) FILTER (WHERE b.status IN ('pending', 'confirmed')), 0) = e.total_tickets
                      FROM events e LEFT JOIN bookings b ON b.event_id = e.id WHERE e.id = $1 GROUP BY e.id)
            """, [event])[0]
        return (try row.decode(0), try row.decode(1), try row.decode(2), try row.decode(3))
    }
}

extension TestClientProtocol {
    /// `POST /api/payments/create-order` for a booking; the order id.
    func openOrder(_ booking: UUID, token: String, path: String = "create-order") async throws -> TestResponse {
        try await send(.post, "/api/payments/\(path)", json: #"{"booking_id":"\#(booking.lowercasedText)"}"#, token: token)
    }

    /// The id of the booking's order (create-order).
    func orderID(_ booking: UUID, token: String) async throws -> String {
        try #require(try await openOrder(booking, token: token).json()["order_id"] as? String)
    }

    func verify(order: String, payment: String, signature: String, token: String) async throws -> TestResponse {
        try await send(
            .post, "/api/payments/verify-payment",
            json: #"{"razorpay_order_id":"\#(order)","razorpay_payment_id":"\#(payment)","razorpay_signature":"\#(signature)"}"#, token: token)
    }
}
