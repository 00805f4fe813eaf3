import Foundation
import HappeningHTTP
import HappeningModel
import HappeningPostgres
import Razorpay
import TestSupport
import Testing

/// The real server binary at the most verbose log level, driven through a full flow (register, log in, apply as a host with a
/// bank account, book, pay, refund, webhooks, gateway failures), then its whole log searched for every secret that passed through.
@Suite("No secret or PII in logs", .timeLimit(.minutes(10)))
struct LogSecrecyTests {
    private struct HTTP {
        let base: String
        let client = CurlHTTPClient(maxConcurrentRequests: 2)

        @discardableResult
        func send(
            _ method: String, _ path: String, json: String? = nil, token: String? = nil,
            headers: [(name: String, value: String)] = []
        ) async throws -> (status: Int, body: [String: Any]) {
            var all = headers
            if json != nil { all.append(("Content-Type", "application/json")) }
            if let token { all.append(("Authorization", "Bearer \(token)")) }
            let response = try await client.send(
                HTTPClientRequest(
                    method: method, url: base + path, headers: all, body: json.map { Array($0.utf8) },
                    timeout: Patience.standard))
            return (response.status, (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:])
        }
    }

    /// What the flow sends that must never be logged, made unique per run.
    private struct Secrets {
        let password: String, adminPassword: String, jwtSecret: String, keySecret: String, webhookSecret: String, account: String
        let idNumber: String

        init(suffix: String) {
            let digits = suffix.filter(\.isNumber)
            password = "Pw-\(suffix)-correct-horse"
            adminPassword = "Adm-\(suffix)-battery"
            jwtSecret = "jwt-\(suffix)-0123456789abcdefghijklmnop"
            keySecret = "ks-\(suffix)-gateway"
            webhookSecret = "wh-\(suffix)-hook"
            account = "99\(String(digits.prefix(8)).padding(toLength: 8, withPad: "7", startingAt: 0))31"
            idNumber = "ZQXPT\(String(digits.prefix(4)).padding(toLength: 4, withPad: "5", startingAt: 0))K"
        }
    }

    @Test("passwords, JWTs, bank and ID numbers, the key secret and the webhook secret never reach the server's log")
    func secretsStayOut() async throws {
        let suffix = TestEnvironment.uniqueSuffix()
        let secrets = Secrets(suffix: suffix)
        let adminEmail = "admin-\(suffix)@example.com".lowercased()
        let (gateway, server, gatewayPort, serverPort) = try await Self.start(secrets: secrets, adminEmail: adminEmail, suffix: suffix)
        try await gateway.whileRunning {
            try await server.whileRunning {
                let api = HTTP(base: "http://127.0.0.1:\(serverPort)")
                let sim = HTTP(base: "http://127.0.0.1:\(gatewayPort)")
                let (token, adminToken, user) = try await Self.accounts(api, secrets: secrets, email: "user-\(suffix)@example.com", adminEmail: adminEmail)
                let signature = try await Self.payAndRefund(api, sim, token: token, adminToken: adminToken, user: user)
                // Webhooks and background work log too: wait until the gateway's webhooks were all taken and the refund
                // the failing gateway refused was logged.
                try await eventually("the gateway's webhooks to be delivered to the server", every: .milliseconds(100)) {
                    let sent = try JSONSerialization.jsonObject(
                        with: Data(try await TestHTTP.send(HTTPClientRequest(url: "http://127.0.0.1:\(gatewayPort)/_sim/webhooks")).body))
                    return (sent as? [[String: Any]] ?? []).map { $0["state"] as? String ?? "?" }
                } until: {
                    !$0.isEmpty && $0.allSatisfy { $0 == "delivered" }
                }
                try await eventually("the refused refund in the server's log") { server.output.contains("refund not issued yet") }

                await server.terminate()
                await api.client.shutdown()
                await sim.client.shutdown()
                let log = server.output
                // The flow really was logged: requests, and the refund the failing gateway refused.
                #expect(log.contains("/api/hosts/apply") && log.contains("/api/payments/verify-payment"), "requests were not logged:\n\(log.prefix(2_000))")
                #expect(log.contains("refund not issued yet"), "the gateway failure was not logged:\n\(log.suffix(2_000))")
                for (name, secret) in [
                    ("password", secrets.password), ("admin password", secrets.adminPassword), ("JWT secret", secrets.jwtSecret),
                    ("JWT", token), ("admin JWT", adminToken), ("key secret", secrets.keySecret), ("webhook secret", secrets.webhookSecret),
                    ("bank account number", secrets.account), ("ID number", secrets.idNumber), ("checkout signature", signature),
                ] {
                    #expect(!log.contains(secret), "the server's log contains the \(name)")
                }
            }
        }
    }

    /// The gateway and the real server (trace logging, real Razorpay-style keys). Each names the other's port, so both
    /// start again on new ports if either one's port was taken.
    private static func start(secrets: Secrets, adminEmail: String, suffix: String) async throws -> (ChildProcess, ChildProcess, Int, Int) {
        let keyID = "rzp_test_\(suffix.filter { $0.isLetter || $0.isNumber }.prefix(12))"
        let keys = ["RAZORPAY_KEY_ID": keyID, "RAZORPAY_KEY_SECRET": secrets.keySecret, "RAZORPAY_WEBHOOK_SECRET": secrets.webhookSecret]
        return try await ChildProcess.retryingTakenPorts {
            let gatewayPort = TestPorts.next()
            let serverPort = TestPorts.next()
            let gateway = try await ChildProcess.serve(
                "happening-offline-razorpay", port: gatewayPort, path: "/_sim/webhooks",
                environment: keys.merging([
                    "GATEWAY_PORT": String(gatewayPort), "GATEWAY_SETTLE_MS": "50",
                    "GATEWAY_WEBHOOK_URL": "http://127.0.0.1:\(serverPort)/api/payments/webhook",
                ]) { $1 })
            do {
                let server = try await ChildProcess.serve(
                    "happening-server", port: serverPort, path: "/api/health/live",
                    environment: keys.merging([
                        "RAZORPAY_BASE_URL": "http://127.0.0.1:\(gatewayPort)", "DATABASE_URL": TestEnvironment.databaseURL,
                        "REDIS_URL": TestEnvironment.redisURL,
                        "AMQP_URL": TestEnvironment.amqpURL, "JWT_SECRET": secrets.jwtSecret, "PORT": String(serverPort), "LOG_LEVEL": "trace",
                        "ADMIN_EMAIL": adminEmail, "ADMIN_PASSWORD": secrets.adminPassword, "CACHE_PREFIX": "logtest-\(suffix):", "BCRYPT_COST": "4",
                        "BOOKING_QUEUE": "logtest-\(suffix)",
                    ]) { $1 })
                return (gateway, server, gatewayPort, serverPort)
            } catch {
                await gateway.terminate()
                throw error
            }
        }
    }

    /// Accounts, logins (good and bad), a host application with bank and ID numbers, the admin's approval; the user's and
    /// the admin's tokens and the user's id.
    private static func accounts(_ api: HTTP, secrets: Secrets, email: String, adminEmail: String) async throws -> (String, String, String) {
        let registered = try await api.send("POST", "/api/auth/register", json: #"{"email":"\#(email)","password":"\#(secrets.password)","name":"Log Test"}"#)
        let token = try #require(registered.body["token"] as? String)
        for _ in 0..<3 { try await api.send("POST", "/api/auth/login", json: #"{"email":"\#(email)","password":"wrong-\#(secrets.password)"}"#) }
        try await api.send("POST", "/api/auth/login", json: #"{"email":"\#(email)","password":"\#(secrets.password)"}"#)
        try await api.send("GET", "/api/profile", token: token)
        try await api.send("GET", "/api/profile", token: token + "tampered")
        try await api.send(
            "POST", "/api/hosts/apply",
            json:
                #"{"phone":"+919876543210","idType":"pan","idNumber":"\#(secrets.idNumber)","account_holder_name":"Log Test","account_number":"\#(secrets.account)","ifsc_code":"HDFC0001234","bank_name":"HDFC Bank"}"#,
            token: token)
        let admin = try await api.send("POST", "/api/auth/login", json: #"{"email":"\#(adminEmail)","password":"\#(secrets.adminPassword)"}"#)
        let adminToken = try #require(admin.body["token"] as? String, "admin login answered \(admin.status) \(admin.body)")
        let user = try #require((try await api.send("GET", "/api/profile", token: token).body["user"] as? [String: Any])?["id"] as? String)
        try await api.send("POST", "/api/hosts/applications/\(user)/review", json: #"{"action":"approve"}"#, token: adminToken)

        return (token, adminToken, user)
    }

    /// A paid event, a hold, an order, a payment (its webhook reaches the server), a cancellation with a refund the
    /// failing gateway refuses; the checkout signature.
    private static func payAndRefund(_ api: HTTP, _ sim: HTTP, token: String, adminToken: String, user: String) async throws -> String {
        let date = ISO8601DateFormatter().string(from: Date().addingTimeInterval(7 * 86_400))
        let event = try #require(
            (try await api.send(
                "POST", "/api/events",
                json: #"{"title":"Log gig","date_time":"\#(date)","venue":"Hall, Pune","total_tickets":10,"price":"100.00","category":"music"}"#,
                token: adminToken
            ).body["event"] as? [String: Any])?["id"] as? String)
        let postgres = PostgresClient(configuration: .init(url: TestEnvironment.databaseURL, poolSize: 1))
        let booking = try await PaymentFixtures(postgres: postgres).pendingBooking(user: UUID(uuidString: user)!, event: UUID(uuidString: event)!)
        await postgres.shutdown()
        let order = try #require(
            try await api.send("POST", "/api/payments/create-order", json: #"{"booking_id":"\#(booking.lowercasedText)"}"#, token: token).body["order_id"]
                as? String)
        let paid = try await sim.send("POST", "/_sim/checkout", json: #"{"order_id":"\#(order)"}"#)
        let payment = try #require(paid.body["razorpay_payment_id"] as? String)
        let signature = try #require(paid.body["razorpay_signature"] as? String)
        try await api.send(
            "POST", "/api/payments/verify-payment",
            json: #"{"razorpay_order_id":"\#(order)","razorpay_payment_id":"\#(payment)","razorpay_signature":"\#(signature)"}"#, token: token)
        try await api.send(
            "POST", "/api/payments/webhook", json: #"{"event":"payment.captured","payload":{}}"#,
            headers: [("X-Razorpay-Signature", "00"), ("X-Razorpay-Event-Id", "evt_x")])
        try await sim.send("POST", "/_sim/faults", json: #"{"method":"POST","path_prefix":"/v1/payments/","status":503,"times":3,"delay_ms":0}"#)
        try await api.send("POST", "/api/cancellations/\(booking.lowercasedText)/cancel", token: token)
        try await api.send("GET", "/metrics")
        return signature
    }
}
