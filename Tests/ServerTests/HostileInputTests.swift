import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import Server

/// Input built to hurt: every one gets a clear 4xx in the usual JSON shape, and the server keeps answering.
@Suite("Hostile input", .timeLimit(.minutes(10)))
struct HostileInputTests {
    @Test("deep nesting, huge fields, oversized bodies, bad paths and headers are 4xx, never 5xx, and the server stays up")
    func limits() async throws {
        try await withServer { client in
            let token = try await client.register(email: uniqueEmail())
            let cases: [(name: String, method: HTTPRequest.Method, path: String, body: String?, token: String?, expected: Set<Int>)] = [
                (
                    "arrays nested 20,000 deep", .post, "/api/auth/register",
                    String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000), nil, [400]
                ),
                (
                    "objects nested 5,000 deep", .post, "/api/auth/login",
                    String(repeating: #"{"a":"#, count: 5_000) + "1" + String(repeating: "}", count: 5_000), nil, [400]
                ),
                (
                    "a 60 KB e-mail", .post, "/api/auth/register",
                    #"{"email":"\#(String(repeating: "a", count: 60_000))@x.com","password":"long enough 1","name":"N"}"#, nil, [400]
                ),
                ("a 70 KB body", .post, "/api/bookings", #"{"pad":"\#(String(repeating: "x", count: 70_000))"}"#, token, [413]),
                (
                    "a number too large for any field", .post, "/api/bookings",
                    #"{"event_id":"\#(UUID())","ticket_count":1e400}"#, token, [400]
                ),
                ("a NUL and invalid UTF-8 in a field", .post, "/api/auth/login", "{\"email\":\"a\u{0}b\",\"password\":\"\u{FFFD}\"}", nil, [400, 401]),
                ("a 10,000-character id", .get, "/api/events/\(String(repeating: "9", count: 10_000))", nil, nil, [400, 404, 414, 431]),
                ("a page size of a million", .get, "/api/events/public/upcoming?limit=1000000", nil, nil, [400]),
                ("a negative page", .get, "/api/events/public/upcoming?page=-3", nil, nil, [400]),
                ("a search text of 5,000 characters", .get, "/api/events/public/search?query=\(String(repeating: "q", count: 5_000))", nil, nil, [400]),
                ("a token of 8 KB", .get, "/api/profile", nil, String(repeating: "A", count: 8_000), [401]),
                ("a ticket count of -1", .post, "/api/bookings", #"{"event_id":"\#(UUID())","ticket_count":-1}"#, token, [400]),
                ("SQL in a path id", .get, "/api/events/1'%20OR%20'1'='1", nil, nil, [400]),
            ]
            for item in cases {
                let response = try await client.send(item.method, item.path, json: item.body, token: item.token)
                #expect(item.expected.contains(Int(response.status.code)), "\(item.name): \(response.status)")
                if response.status.code != 413 && response.status.code != 414 && response.status.code != 431 {
                    #expect(response.errorCode != nil, "\(item.name): no error code in \(String(buffer: response.body).prefix(200))")
                }
            }
            #expect(try await client.send(.get, "/api/health/live").status == .ok, "the server still answers")
        }
    }
}
