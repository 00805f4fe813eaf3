import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import Server

@Suite("Event routes", .timeLimit(.minutes(10)))
struct EventRouteTests {
    @Test("create: anonymous 401, plain user 403, approved host 201 pending, admin 201 approved")
    func createMatrix() async throws {
        let admin = uniqueEmail("admin").lowercased()
        try await withServer(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1"]) { client in
            #expect(try await client.send(.post, "/api/events", json: eventJSON()).status == .unauthorized)
            let user = try await client.register(email: uniqueEmail())
            let forbidden = try await client.send(.post, "/api/events", json: eventJSON(), token: user)
            #expect(forbidden.status == .forbidden)
            #expect(forbidden.errorCode == "not_a_host")

            let host = try await Fixtures.approvedHost(client)
            let created = try await client.send(.post, "/api/events", json: eventJSON(), token: host)
            #expect(created.status == .created)
            let event = try #require(try created.json()["event"] as? [String: Any])
            #expect(event["approval_status"] as? String == "pending")
            #expect(event["price"] as? String == "499.50")
            #expect(event["available_tickets"] as? Int == 100)
            #expect((event["latitude"] as? Double).map { abs($0 - 23.2599) < 0.001 } == true, "venue city resolved offline")
            // A pending event is not public.
            #expect(try await client.send(.get, "/api/events/\(event["id"] as! String)").status == .notFound)

            let adminToken = try await Fixtures.adminToken(client, email: admin)
            let byAdmin = try await client.send(.post, "/api/events", json: eventJSON(), token: adminToken)
            #expect(byAdmin.status == .created)
            let adminEvent = try #require(try byAdmin.json()["event"] as? [String: Any])
            #expect(adminEvent["approval_status"] as? String == "approved")
            #expect(try await client.send(.get, "/api/events/\(adminEvent["id"] as! String)").status == .ok)
        }
    }

    @Test("create rejects bad input with 400 details, never 500")
    func createValidation() async throws {
        try await withServer { client in
            let host = try await Fixtures.approvedHost(client)
            let bad = try await client.send(
                .post, "/api/events", json: #"{"title":"","date_time":"yesterday","venue":"x","total_tickets":0,"price":"1.005","category":"opera"}"#,
                token: host)
            #expect(bad.status == .badRequest)
            let details = try #require(try bad.json()["details"] as? [String: String])
            #expect(Set(details.keys).isSuperset(of: ["title", "date_time", "total_tickets", "price", "category"]))
            let past = try await client.send(.post, "/api/events", json: eventJSON(daysAhead: -1), token: host)
            #expect(past.status == .badRequest)
            for body in [#"{"total_tickets":"many"}"#, #"{"price":true}"#, "[1,2]", "{{", #"{"latitude":91,"longitude":10}"#] {
                let response = try await client.send(.post, "/api/events", json: body, token: host)
                #expect(response.status == .badRequest, "\(body) gave \(response.status)")
            }
            // Free events are allowed (the original rejected price 0).
            #expect(try await client.send(.post, "/api/events", json: eventJSON(price: "0"), token: host).status == .created)
        }
    }

    @Test("review, edit and cancel follow ownership and keep tickets consistent")
    func lifecycle() async throws {
        let admin = uniqueEmail("admin").lowercased()
        try await withServer(["ADMIN_EMAIL": admin, "ADMIN_PASSWORD": "admin-pass-1"]) { client in
            let adminToken = try await Fixtures.adminToken(client, email: admin)
            let host = try await Fixtures.approvedHost(client)
            let otherHost = try await Fixtures.approvedHost(client)
            let id =
                try #require(try await client.send(.post, "/api/events", json: eventJSON(tickets: 50), token: host).json()["event"] as? [String: Any])["id"]
                as! String

            // Review: only admins; bad action 400; unknown event 404; bad id 400.
            #expect(try await client.send(.post, "/api/events/admin/\(id)/review", json: #"{"action":"approve"}"#, token: host).status == .forbidden)
            #expect(try await client.send(.post, "/api/events/admin/\(id)/review", json: #"{"action":"maybe"}"#, token: adminToken).status == .badRequest)
            #expect(try await client.send(.post, "/api/events/admin/\(UUID())/review", json: #"{"action":"approve"}"#, token: adminToken).status == .notFound)
            #expect(
                try await client.send(.post, "/api/events/admin/not-a-uuid/review", json: #"{"action":"approve"}"#, token: adminToken).status == .badRequest)
            let approved = try await client.send(.post, "/api/events/admin/\(id)/review", json: #"{"action":"approve","adminNotes":"ok"}"#, token: adminToken)
            #expect(approved.status == .ok)
            #expect(try approved.json()["status"] as? String == "approved")
            let pendingList = try await client.send(.get, "/api/events/admin/pending", token: adminToken)
            #expect(pendingList.status == .ok)
            #expect(try await client.send(.get, "/api/events/admin/pending", token: host).status == .forbidden)

            // Edit: another host 403; 20 tickets sold, so total may not drop below 20.
            #expect(try await client.send(.put, "/api/events/\(id)", json: #"{"description":"x"}"#, token: otherHost).status == .forbidden)
            try await Fixtures.sql("UPDATE events SET available_tickets = 30 WHERE id = $1", [UUID(uuidString: id)!])
            let below = try await client.send(.put, "/api/events/\(id)", json: #"{"total_tickets":19}"#, token: host)
            #expect(below.status == .unprocessableContent)
            #expect(below.errorCode == "below_sold")
            let grown = try await client.send(.put, "/api/events/\(id)", json: #"{"total_tickets":80}"#, token: adminToken)
            let grownEvent = try #require(try grown.json()["event"] as? [String: Any])
            #expect(grownEvent["total_tickets"] as? Int == 80 && grownEvent["available_tickets"] as? Int == 60)
            #expect(grownEvent["approval_status"] as? String == "approved", "an admin's edit keeps the approval")
            // A material edit by the host sends it back to review; a description edit would not.
            let retitled = try await client.send(.put, "/api/events/\(id)", json: #"{"title":"New title"}"#, token: host)
            #expect((try retitled.json()["event"] as? [String: Any])?["approval_status"] as? String == "pending")

            let mine = try await client.send(.get, "/api/events/my-events", token: host)
            let mineEvents = try #require(try mine.json()["events"] as? [[String: Any]])
            #expect(mineEvents.first?["tickets_sold"] as? Int == 20)

            // Cancel: other host 403, owner 200, again 409.
            #expect(try await client.send(.post, "/api/events/\(id)/cancel", token: otherHost).status == .forbidden)
            #expect(try await client.send(.post, "/api/events/\(id)/cancel", token: host).status == .ok)
            #expect(try await client.send(.post, "/api/events/\(id)/cancel", token: host).status == .conflict)
            #expect(try await client.send(.post, "/api/events/\(UUID())/cancel", token: host).status == .notFound)
        }
    }
}
