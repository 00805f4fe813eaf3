import Foundation
import HappeningAuth
import HappeningModel
import HappeningPostgres
import Hummingbird
import HummingbirdTesting
import Logging
import Payments
import TestSupport
import Testing

@testable import Server

@Suite("Payouts and analytics", .timeLimit(.minutes(10)))
struct PayoutAnalyticsTests {
    /// Makes a registered user an approved host, with a payout-eligible bank account when `eligible`.
    private func makeHost(_ postgres: PostgresClient, _ user: UUID, eligible: Bool) async throws {
        try await postgres.query("UPDATE users SET is_host = true, host_status = 'approved' WHERE id = $1", [user])
        try await postgres.query(
            """
            INSERT INTO host_bank_accounts (user_id, account_holder_name, account_number, ifsc_code, bank_name, is_verified, is_payout_eligible, verified_at)
            VALUES ($1, 'Asha Rao', '001122334455', 'HDFC0001234', 'HDFC Bank', $2, $2, CASE WHEN $2 THEN now() END)
            """, [user, eligible])
    }

    @Test("the payout is computed on the server (revenue - refunds - 10 % fee), made once per event, only to an eligible host")
    func payouts() async throws {
        let admin = uniqueEmail("admin").lowercased()
        try await withPaymentServer(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1"]) { client, deps, gateway in
            let fixtures = PaymentFixtures(postgres: deps.postgres)
            let hostEmail = uniqueEmail("host")
            let hostToken = try await client.register(email: hostEmail)
            let host = try await fixtures.userID(email: hostEmail)
            try await makeHost(deps.postgres, host, eligible: true)
            let buyerEmail = uniqueEmail()
            let buyer = try await client.register(email: buyerEmail)
            let buyerID = try await fixtures.userID(email: buyerEmail)
            let event = try await fixtures.paidEvent(host: host, tickets: 50)
            var bookings: [UUID] = []
            for _ in 0..<3 {
                bookings.append(try await fixtures.paidBooking(client, gateway, user: buyerID, token: buyer, event: event, tickets: 2))
            }
            #expect(try await client.send(.post, "/api/cancellations/\(bookings[0].lowercasedText)/cancel", token: buyer).status == .ok)
            let adminToken = try await Fixtures.adminToken(client, email: admin)
            let id = event.lowercasedText
            let early = try await client.send(.post, "/api/hosts/payouts/create", json: #"{"event_id":"\#(id)"}"#, token: adminToken)
            #expect(early.errorCode == "event_not_payable", "the event has not happened yet")
            try await deps.postgres.query("UPDATE events SET date_time = now() - interval '3 days' WHERE id = $1", [event])

            let payable = try await client.send(.get, "/api/hosts/admin/payable-events?limit=100", token: adminToken).json()
            let listed = try #require((payable["events"] as? [[String: Any]])?.first { $0["id"] as? String == id })
            #expect(listed["total_revenue"] as? String == "1998.00" && listed["refunded"] as? String == "999.00")
            #expect(listed["platform_fee"] as? String == "199.80" && listed["payout_amount"] as? String == "1798.20")
            #expect(try await client.send(.get, "/api/hosts/admin/payable-events", token: hostToken).status == .forbidden)

            let typed = try await client.send(.post, "/api/hosts/payouts/create", json: #"{"event_id":"\#(id)","amount":"5000.00"}"#, token: adminToken)
            #expect(typed.errorCode == "amount_mismatch")
            let wrongHost = try await client.send(
                .post, "/api/hosts/payouts/create",
                json: #"{"event_id":"\#(id)","host_id":"\#(buyerID.lowercasedText)"}"#, token: adminToken)
            #expect(wrongHost.errorCode == "host_mismatch")

            // Five admins' clicks at once: exactly one payout.
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        try await client.send(.post, "/api/hosts/payouts/create", json: #"{"event_id":"\#(id)","amount":"1798.20"}"#, token: adminToken).status
                    }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .ok }.count == 1 && statuses.filter { $0 == .conflict }.count == 4)
            let count: Int64 = try await deps.postgres.query("SELECT count(*) FROM payouts WHERE event_id = $1", [event])[0].decode(0)
            #expect(count == 1)

            // The worker's reconcile pass (the same one `happening-worker reconcile` runs) sends and follows the payout.
            let reconciler = PaymentReconciler(
                payments: deps.payments, notifier: deps.availabilityNotifier, feeBasisPoints: deps.payouts.feeBasisPoints,
                logger: Logger(label: "test"))
            try await eventually("the payout to be reconciled as processed", every: .milliseconds(50)) {
                _ = try await reconciler.pass(minimumAge: .zero)
                return try await deps.postgres.query("SELECT status::text FROM payouts WHERE event_id = $1", [event])[0].decode(0, as: String.self)
            } until: {
                $0 == "processed"
            }
            let mine = try await client.send(.get, "/api/hosts/my-payouts", token: hostToken).json()
            #expect((mine["payouts"] as? [[String: Any]])?.first?["amount"] as? String == "1798.20" && mine["total_amount"] as? String == "1798.20")
            let all = try await client.send(.get, "/api/hosts/admin/payouts?host_id=\(host.lowercasedText)", token: adminToken).json()
            #expect((all["payouts"] as? [[String: Any]])?.first?["fee_amount"] as? String == "199.80")
            let ledger = try await fixtures.ledger(event: event)
            #expect(ledger.captured - ledger.refunds == ledger.confirmed && ledger.confirmed == 199_800)

            // A host without a payout-eligible account is never paid.
            let otherEmail = uniqueEmail("host")
            _ = try await client.register(email: otherEmail)
            let other = try await fixtures.userID(email: otherEmail)
            try await makeHost(deps.postgres, other, eligible: false)
            let otherEvent = try await fixtures.paidEvent(host: other, tickets: 5)
            _ = try await fixtures.paidBooking(client, gateway, user: buyerID, token: buyer, event: otherEvent)
            try await deps.postgres.query("UPDATE events SET date_time = now() - interval '3 days' WHERE id = $1", [otherEvent])
            let refused = try await client.send(.post, "/api/hosts/payouts/create", json: #"{"event_id":"\#(otherEvent.lowercasedText)"}"#, token: adminToken)
            #expect(refused.status == .unprocessableContent && refused.errorCode == "host_not_payout_eligible")
        }
    }

    @Test("dashboard and host analytics equal independent sums over seeded data")
    func analyticsOnSeededData() async throws {
        try await TestEnvironment.withScratchDatabase(prefix: "analytics") { url in
            let seeded = try await TestEnvironment.shellOffPool(
                "'\(ChildProcess.binary("happening-seed"))' --database-url '\(url)' --reset --events 2000 --users 300 --bookings 5000 --progress none")
            try #require(seeded.status == 0, "\(seeded.output)")
            let admin = uniqueEmail("admin").lowercased()
            try await withServerAndDependencies(["DATABASE_URL": url, "ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1"]) { client, deps in
                let bookings = try await SeededBooking.confirmed(deps.postgres)
                try #require(bookings.count > 100)
                let token = try await Fixtures.adminToken(client, email: admin)
                try await checkDashboard(client, deps, token: token, bookings: bookings)
                try await checkHost(client, deps, bookings: bookings)
                let buyer = try await client.register(email: uniqueEmail())
                #expect(try await client.send(.get, "/api/analytics/host", token: buyer).errorCode == "not_a_host")
                #expect(try await client.send(.get, "/api/analytics/dashboard", token: buyer).status == .forbidden)
            }
        }
    }

    private func checkDashboard(_ client: some TestClientProtocol, _ deps: AppDependencies, token: String, bookings: [SeededBooking]) async throws {
        let all = try await client.send(.get, "/api/analytics/dashboard", token: token).json()
        let stats = try #require(all["stats"] as? [String: Any])
        #expect(stats["total_revenue"] as? String == SeededBooking.rupees(SeededBooking.paise(bookings)))
        #expect(stats["total_confirmed_bookings"] as? Int == bookings.count)
        var perEvent: [UUID: Int] = [:]
        for booking in bookings { perEvent[booking.event, default: 0] += 1 }
        let top = try #require(all["popularEvents"] as? [[String: Any]])
        #expect(top.count == 5)
        #expect(top.first?["bookings_count"] as? Int == perEvent.values.max())

        let upcoming: [(UUID, Int)] = try await deps.postgres.query(
            "SELECT id, total_tickets FROM events WHERE approval_status = 'approved' AND NOT is_cancelled AND date_time > now()"
        ).map { (try $0.decode(0), try $0.decode(1)) }
        let upcomingIDs = Set(upcoming.map(\.0))
        let capacity = upcoming.map(\.1).reduce(0, +)
        let sold = SeededBooking.tickets(bookings.filter { upcomingIDs.contains($0.event) })
        let shape = try #require(all["capacity"] as? [String: Any])
        #expect(shape["platform_total_capacity"] as? Int == capacity)
        #expect(shape["platform_total_sold"] as? Int == sold)
        #expect(shape["utilization_percentage"] as? String == SeededBooking.rupees(Int64((sold * 10_000 + capacity / 2) / capacity)))

        let days = Array(Set(bookings.map(\.day))).sorted()
        let (from, to) = (days[days.count / 4], days[days.count / 2])
        let ranged = try await client.send(.get, "/api/analytics/dashboard?from=\(from)&to=\(to)", token: token).json()
        let inRange = bookings.filter { $0.day >= from && $0.day <= to }
        let rangedStats = try #require(ranged["stats"] as? [String: Any])
        #expect(rangedStats["total_revenue"] as? String == SeededBooking.rupees(SeededBooking.paise(inRange)))
        #expect(rangedStats["total_confirmed_bookings"] as? Int == inRange.count)
        if from < to {
            #expect(try await client.send(.get, "/api/analytics/dashboard?from=\(to)&to=\(from)", token: token).status == .badRequest)
        }
    }

    private func checkHost(_ client: some TestClientProtocol, _ deps: AppDependencies, bookings: [SeededBooking]) async throws {
        // The host with the most events, through a token minted for them.
        let hosts: [(UUID, String)] = try await deps.postgres.query(
            """
            SELECT u.id, u.email FROM users u JOIN events e ON e.created_by = u.id WHERE u.host_status = 'approved'
            GROUP BY u.id ORDER BY count(*) DESC, u.id LIMIT 1
            """
        ).map { (try $0.decode(0, as: UUID.self), try $0.decode(1, as: String.self)) }
        let host = try #require(hosts.first)
        let hostToken = try deps.tokens.issue(userId: host.0, email: host.1, role: "user")
        let hostEvents = Set(try await deps.postgres.query("SELECT id FROM events WHERE created_by = $1", [host.0]).map { try $0.decode(0, as: UUID.self) })
        let mine = bookings.filter { hostEvents.contains($0.event) }
        let days = Array(Set(mine.map(\.day))).sorted()
        let from = try #require(days.first)
        let to = days.last { $0 <= SeededBooking.day(after: from, adding: 365) } ?? from
        let view = try await client.send(.get, "/api/analytics/host?from=\(from)&to=\(to)&limit=100", token: hostToken).json()
        let totals = try #require(view["totals"] as? [String: Any])
        #expect(totals["events"] as? Int == hostEvents.count)
        #expect(totals["tickets_sold"] as? Int == SeededBooking.tickets(mine))
        #expect(totals["revenue"] as? String == SeededBooking.rupees(SeededBooking.paise(mine)))
        let daily = try #require(view["daily_sales"] as? [[String: Any]])
        let dailyTickets = daily.map { $0["tickets"] as? Int ?? 0 }.reduce(0, +)
        #expect(dailyTickets == SeededBooking.tickets(mine.filter { $0.day >= from && $0.day <= to }))
        let events = try #require(view["events"] as? [[String: Any]])
        #expect(events.count == min(100, hostEvents.count))
    }
}

/// A confirmed booking of the seeded database, read raw for independent sums.
struct SeededBooking {
    let event: UUID
    let tickets: Int
    let paise: Int64
    let day: String

    static func confirmed(_ postgres: PostgresClient) async throws -> [SeededBooking] {
        try await postgres.query(
            "SELECT event_id, ticket_count, total_amount, to_char(booking_date AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM bookings WHERE status = 'confirmed'"
        ).map { row in
            SeededBooking(
                event: try row.decode(0), tickets: try row.decode(1),
                paise: try row.decode(2, as: PostgresNumeric.self).minorUnits(scale: 2), day: try row.decode(3))
        }
    }

    static func paise(_ bookings: [SeededBooking]) -> Int64 { bookings.map(\.paise).reduce(0, +) }
    static func tickets(_ bookings: [SeededBooking]) -> Int { bookings.map(\.tickets).reduce(0, +) }
    static func rupees(_ paise: Int64) -> String { PostgresNumeric(minorUnits: paise, scale: 2).text }

    /// `day` (YYYY-MM-DD) plus `adding` days.
    static func day(after day: String, adding: Int) -> String {
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "UTC")
        format.dateFormat = "yyyy-MM-dd"
        return format.string(from: format.date(from: day)!.addingTimeInterval(Double(adding) * 86_400))
    }
}
