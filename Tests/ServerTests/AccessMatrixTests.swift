import Foundation
import HappeningModel
import HappeningPostgres
import Hummingbird
import HummingbirdTesting
import Prometheus
import TestSupport
import Testing

@testable import Server

/// Every protected route × {anonymous, user, approved host (owner), other host, admin} → what each may do, as one table.
/// Objects belong to someone (the host's events, the user's bookings): another caller must never reach them.
@Suite("Access matrix", .timeLimit(.minutes(10)))
struct AccessMatrixTests {
    /// What a caller may expect: allowed (any answer but 401/403/5xx), forbidden (403), or hidden (403 or 404, no data).
    enum Access: Character {
        case allowed = "A"
        case forbidden = "F"
        case hidden = "H"
    }

    /// The callers in the order each route is tried: the object owners (host, user) come last, so a route that
    /// changes its object (cancel) is first tried by everyone who must fail.
    enum Role: String, CaseIterable { case otherHost, admin, host, user }

    struct Row {
        let key: String
        let path: String
        let body: String?
        /// user, host, other host, admin: e.g. "FAFA".
        let access: String

        func expected(_ role: Role) -> Access {
            let index = ["user": 0, "host": 1, "otherHost": 2, "admin": 3][role.rawValue]!
            return Access(rawValue: Array(access)[index])!
        }
    }

    @Test("each role gets exactly what the table says on every protected route, and the table covers them all")
    func matrix() async throws {
        let admin = uniqueEmail("admin").lowercased()
        try await withPaymentServer(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1", "BOOKING_QUEUE": "test.access.\(TestEnvironment.uniqueSuffix())"])
        { client, deps, _ in
            let fixtures = PaymentFixtures(postgres: deps.postgres)
            let adminToken = try await Fixtures.adminToken(client, email: admin)
            let host = try await Fixtures.approvedHost(client, postgres: deps.postgres)
            let otherHost = try await Fixtures.approvedHost(client, postgres: deps.postgres)
            let (user, userID) = try await fixtures.buyer(client)
            let tokens: [Role: String] = [.user: user, .host: host, .otherHost: otherHost, .admin: adminToken]

            func createEvent() async throws -> String {
                let created = try await client.send(.post, "/api/events", json: eventJSON(), token: host)
                let id = try #require(try created.json()["event"] as? [String: Any])["id"] as! String
                #expect(try await client.send(.post, "/api/events/admin/\(id)/review", json: #"{"action":"approve"}"#, token: adminToken).status == .ok)
                return id
            }
            let event = try await createEvent()
            let doomed = try await createEvent()
            let eventID = UUID(uuidString: event)!
            let reading = try await fixtures.pendingBooking(user: userID, event: eventID)
            let releasing = try await fixtures.pendingBooking(user: userID, event: eventID)
            let cancelling = try await fixtures.pendingBooking(user: userID, event: eventID)
            try await deps.postgres.query(
                "INSERT INTO payments (booking_id, payment_intent_id, amount, status) SELECT id, $2, total_amount, 'created' FROM bookings WHERE id = $1",
                [reading, "order_access_\(TestEnvironment.uniqueSuffix())"])
            let rows = Self.table(Objects(event: event, doomed: doomed, reading: reading, releasing: releasing, cancelling: cancelling, user: userID))

            // The table covers every route that needs a token.
            let protected = Set(
                buildRouter(deps).routes.map { route -> String in
                    let parts = route.path.description.split(separator: "/")
                    return "\(route.method.rawValue) /" + parts.map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
                }
            ).subtracting(AuthorizationMatrixTests.publicRoutes)
            #expect(
                protected == Set(rows.map(\.key)), "missing: \(protected.subtracting(rows.map(\.key))), extra: \(Set(rows.map(\.key)).subtracting(protected))")

            for row in rows {
                let method = HTTPRequest.Method(rawValue: String(row.key.split(separator: " ")[0]))!
                let anonymous = try await client.send(method, row.path, json: row.body)
                #expect(anonymous.status == .unauthorized, "\(row.key) anonymous: \(anonymous.status)")
                for role in Role.allCases {
                    let response = try await client.send(method, row.path, json: row.body, token: tokens[role])
                    let code = Int(response.status.code)
                    switch row.expected(role) {
                    case .allowed: #expect(code != 401 && code != 403 && code < 500, "\(row.key) as \(role): \(response.status) \(response.errorCode ?? "")")
                    case .forbidden: #expect(code == 403, "\(row.key) as \(role): \(response.status)")
                    case .hidden: #expect(code == 403 || code == 404, "\(row.key) as \(role): \(response.status) — another's object must stay out of reach")
                    }
                }
            }
            #expect(try await fixtures.bookingStatus(releasing) == "cancelled", "only its owner released the hold")
            #expect(try await fixtures.bookingStatus(reading) == "pending")
        }
    }

    /// The objects the table's routes act on: two approved events of the host (one to cancel), the user's pending
    /// bookings (one read, one released, one cancelled), and the user.
    struct Objects {
        let event: String
        let doomed: String
        let reading: UUID
        let releasing: UUID
        let cancelling: UUID
        let user: UUID
    }

    /// Every protected route, with what user, host, other host and admin may do there.
    static func table(_ objects: Objects) -> [Row] {
        let b = { (id: UUID) in id.lowercasedText }
        return [
            Row(key: "GET /api/profile", path: "/api/profile", body: nil, access: "AAAA"),
            Row(key: "POST /api/events", path: "/api/events", body: eventJSON(), access: "FAAA"),
            Row(key: "GET /api/events/my-events", path: "/api/events/my-events", body: nil, access: "AAAA"),
            Row(key: "GET /api/events/admin/pending", path: "/api/events/admin/pending", body: nil, access: "FFFA"),
            Row(key: "GET /api/events/admin/approved", path: "/api/events/admin/approved", body: nil, access: "FFFA"),
            Row(key: "GET /api/events/admin/rejected", path: "/api/events/admin/rejected", body: nil, access: "FFFA"),
            Row(key: "POST /api/events/admin/{id}/review", path: "/api/events/admin/\(objects.event)/review", body: #"{"action":"approve"}"#, access: "FFFA"),
            Row(key: "PUT /api/events/{id}", path: "/api/events/\(objects.event)", body: #"{"description":"edited"}"#, access: "FAFA"),
            Row(key: "POST /api/events/{id}/cancel", path: "/api/events/\(objects.doomed)/cancel", body: nil, access: "FAFA"),
            Row(key: "GET /api/events/{id}/cancellation", path: "/api/events/\(objects.doomed)/cancellation", body: nil, access: "FAFA"),
            Row(key: "POST /api/bookings", path: "/api/bookings", body: #"{"event_id":"\#(objects.event)","ticket_count":1}"#, access: "AAAA"),
            Row(key: "GET /api/bookings/my-bookings", path: "/api/bookings/my-bookings", body: nil, access: "AAAA"),
            Row(key: "GET /api/bookings/event/{id}", path: "/api/bookings/event/\(objects.event)", body: nil, access: "FAFA"),
            Row(key: "GET /api/bookings/{id}", path: "/api/bookings/\(b(objects.reading))", body: nil, access: "AHHA"),
            Row(key: "POST /api/bookings/{id}/cancel-pending", path: "/api/bookings/\(b(objects.releasing))/cancel-pending", body: nil, access: "AHHH"),
            Row(key: "POST /api/hosts/apply", path: "/api/hosts/apply", body: "{}", access: "AAAA"),
            Row(key: "GET /api/hosts/my-status", path: "/api/hosts/my-status", body: nil, access: "AAAA"),
            Row(key: "GET /api/hosts/bank-account", path: "/api/hosts/bank-account", body: nil, access: "AAAA"),
            Row(key: "GET /api/hosts/my-payouts", path: "/api/hosts/my-payouts", body: nil, access: "AAAA"),
            Row(key: "GET /api/hosts/applications/pending", path: "/api/hosts/applications/pending", body: nil, access: "FFFA"),
            Row(key: "GET /api/hosts/admin/approved", path: "/api/hosts/admin/approved", body: nil, access: "FFFA"),
            Row(key: "GET /api/hosts/admin/rejected", path: "/api/hosts/admin/rejected", body: nil, access: "FFFA"),
            Row(
                key: "POST /api/hosts/applications/{userId}/review", path: "/api/hosts/applications/\(b(objects.user))/review",
                body: #"{"action":"reject"}"#, access: "FFFA"),
            Row(key: "GET /api/hosts/admin/payable-events", path: "/api/hosts/admin/payable-events", body: nil, access: "FFFA"),
            Row(key: "POST /api/hosts/payouts/create", path: "/api/hosts/payouts/create", body: "{}", access: "FFFA"),
            Row(key: "GET /api/hosts/admin/payouts", path: "/api/hosts/admin/payouts", body: nil, access: "FFFA"),
            Row(key: "GET /api/locations/autocomplete", path: "/api/locations/autocomplete?q=pu", body: nil, access: "AAAA"),
            Row(key: "POST /api/payments/create-order", path: "/api/payments/create-order", body: #"{"booking_id":"\#(b(objects.reading))"}"#, access: "AHHH"),
            Row(key: "POST /api/payments/resume-order", path: "/api/payments/resume-order", body: #"{"booking_id":"\#(b(objects.reading))"}"#, access: "AHHH"),
            Row(
                key: "POST /api/payments/verify-payment", path: "/api/payments/verify-payment",
                body: #"{"razorpay_order_id":"order_x","razorpay_payment_id":"pay_x","razorpay_signature":"00"}"#, access: "AAAA"),
            Row(key: "GET /api/payments/status/{booking_id}", path: "/api/payments/status/\(b(objects.reading))", body: nil, access: "AHHH"),
            Row(key: "POST /api/cancellations/{booking_id}/cancel", path: "/api/cancellations/\(b(objects.cancelling))/cancel", body: nil, access: "AHHH"),
            Row(key: "GET /api/cancellations/refund-status/{refund_id}", path: "/api/cancellations/refund-status/rfnd_none", body: nil, access: "AAAA"),
            Row(key: "GET /api/cancellations/my-cancellable", path: "/api/cancellations/my-cancellable", body: nil, access: "AAAA"),
            Row(key: "GET /api/analytics/dashboard", path: "/api/analytics/dashboard", body: nil, access: "FFFA"),
            Row(key: "GET /api/analytics/host", path: "/api/analytics/host", body: nil, access: "FAAA"),
        ]
    }
}
