import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import Server

@Suite("Host routes", .timeLimit(.minutes(10)))
struct HostRouteTests {
    private let application =
        #"{"phone":"+919876543210","idType":"pan","idNumber":"ABCDE1234F","organization":"Indie Gigs","account_holder_name":"Asha Rao","account_number":"123456789012","ifsc_code":"hdfc0001234","bank_name":"HDFC Bank"}"#

    @Test("apply → pending with masked numbers; admin approves; the host can then create events")
    func applyAndApprove() async throws {
        let admin = uniqueEmail("admin").lowercased()
        try await withServer(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1"]) { client in
            let user = try await client.register(email: uniqueEmail())
            #expect(try await client.send(.post, "/api/hosts/apply", json: application).status == .unauthorized)
            let applied = try await client.send(.post, "/api/hosts/apply", json: application, token: user)
            #expect(applied.status == .ok)
            let body = String(buffer: applied.body)
            #expect(!body.contains("123456789012") && !body.contains("ABCDE1234F"), "numbers must be masked: \(body)")
            #expect(body.contains("XXXXXXXX9012"))
            #expect(try await client.send(.post, "/api/hosts/apply", json: application, token: user).status == .conflict)

            let status = try await client.send(.get, "/api/hosts/my-status", token: user)
            #expect(!String(buffer: status.body).contains("ABCDE1234F"))
            #expect((try status.json()["hostStatus"] as? [String: Any])?["host_status"] as? String == "pending")
            let bank = try await client.send(.get, "/api/hosts/bank-account", token: user)
            #expect((try bank.json()["bank_account"] as? [String: Any])?["account_number"] as? String == "XXXXXXXX9012")

            let adminToken = try await Fixtures.adminToken(client, email: admin)
            #expect(try await client.send(.get, "/api/hosts/applications/pending", token: user).status == .forbidden)
            let pending = try await client.send(.get, "/api/hosts/applications/pending?limit=100", token: adminToken)
            #expect(pending.status == .ok)
            #expect(!String(buffer: pending.body).contains("123456789012"))
            let profile = try await client.send(.get, "/api/profile", token: user)
            let userID = try #require((try profile.json()["user"] as? [String: Any])?["id"] as? String)

            #expect(try await client.send(.post, "/api/events", json: eventJSON(), token: user).status == .forbidden)
            #expect(try await client.send(.post, "/api/hosts/applications/\(userID)/review", json: #"{"action":"approve"}"#, token: user).status == .forbidden)
            #expect(
                try await client.send(.post, "/api/hosts/applications/\(userID)/review", json: #"{"action":"maybe"}"#, token: adminToken).status == .badRequest)
            #expect(
                try await client.send(.post, "/api/hosts/applications/\(UUID())/review", json: #"{"action":"approve"}"#, token: adminToken).status == .notFound)
            #expect(
                try await client.send(
                    .post, "/api/hosts/applications/\(userID)/review", json: #"{"action":"approve","adminNotes":"welcome"}"#, token: adminToken
                ).status == .ok)
            #expect(
                try await client.send(.post, "/api/hosts/applications/\(userID)/review", json: #"{"action":"approve"}"#, token: adminToken).status == .conflict)
            #expect(try await client.send(.get, "/api/hosts/admin/approved", token: adminToken).status == .ok)
            #expect(try await client.send(.post, "/api/events", json: eventJSON(), token: user).status == .created)
        }
    }

    @Test("applications with bad fields get 400 details; reviewing a user who never applied is 409")
    func validation() async throws {
        let admin = uniqueEmail("admin").lowercased()
        try await withServer(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1"]) { client in
            let user = try await client.register(email: uniqueEmail())
            let bad = try await client.send(
                .post, "/api/hosts/apply",
                json:
                    #"{"phone":"123","idType":"library-card","idNumber":"!","account_holder_name":"","account_number":"12ab","ifsc_code":"XYZ","bank_name":"B","account_type":"gold"}"#,
                token: user)
            #expect(bad.status == .badRequest)
            let details = try #require(try bad.json()["details"] as? [String: String])
            #expect(Set(details.keys) == ["phone", "idType", "idNumber", "account_holder_name", "account_number", "ifsc_code", "account_type"])
            let profile = try await client.send(.get, "/api/profile", token: user)
            let userID = try #require((try profile.json()["user"] as? [String: Any])?["id"] as? String)
            let adminToken = try await Fixtures.adminToken(client, email: admin)
            let never = try await client.send(.post, "/api/hosts/applications/\(userID)/review", json: #"{"action":"approve"}"#, token: adminToken)
            #expect(never.status == .conflict)
            #expect(never.errorCode == "not_pending")
            #expect(
                try await client.send(.post, "/api/hosts/applications/not-a-uuid/review", json: #"{"action":"approve"}"#, token: adminToken).status
                    == .badRequest)
            let none = try await client.send(.get, "/api/hosts/bank-account", token: user)
            #expect(none.status == .ok)
        }
    }
}
