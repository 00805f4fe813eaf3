import Foundation
import HappeningHTTP
import Hummingbird
import Logging
import ServiceLifecycle
import TestSupport
import Testing

/// Runs a small real HTTP server on 127.0.0.1 (a free port) for the duration of `body`.
private func withTestServer<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
    let router = Router()
    router.get("json") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"ok":true}"#)))
    }
    router.post("echo") { request, _ -> Response in
        let body = try await request.body.collect(upTo: 1 << 20)
        var headers = HTTPFields()
        headers[.contentType] = request.headers[.contentType] ?? "application/octet-stream"
        headers[.init("X-Echo-Method")!] = request.method.rawValue
        headers[.init("X-Seen-Authorization")!] = request.headers[.authorization] ?? "none"
        return Response(status: .created, headers: headers, body: .init(byteBuffer: body))
    }
    router.get("status/:code") { _, context -> Response in
        Response(status: .init(code: try context.parameters.require("code", as: Int.self)))
    }
    router.get("slow") { _, _ -> String in
        try await Task.sleep(for: .seconds(2))
        return "late"
    }
    return try await withHTTPTestServer(router, body)
}

@Suite("HTTP client (libcurl easy)", .timeLimit(.minutes(10)))
struct CurlHTTPClientTests {
    @Test("GET, POST with body, headers and basic auth; 4xx/5xx are responses, not errors")
    func requests() async throws {
        let http = CurlHTTPClient()
        try await withTestServer { base in
            let json = try await http.sendPatiently(HTTPClientRequest(url: "\(base)/json"))
            #expect(json.status == 200)
            #expect(json.text == #"{"ok":true}"#)
            #expect(json.header("content-type") == "application/json")

            let payload = Array(#"{"amount":49950,"currency":"INR"}"#.utf8) + [0, 255]
            let echo = try await http.sendPatiently(
                HTTPClientRequest(
                    method: "POST", url: "\(base)/echo", headers: [("Content-Type", "application/json")],
                    body: payload, basicAuth: ("rzp_test_key", "secret")))
            #expect(echo.status == 201)
            #expect(echo.body == payload)
            #expect(echo.header("X-Echo-Method") == "POST")
            #expect(echo.header("X-Seen-Authorization") == "Basic " + Data("rzp_test_key:secret".utf8).base64EncodedString())

            #expect(try await http.sendPatiently(HTTPClientRequest(url: "\(base)/status/404")).status == 404)
            #expect(try await http.sendPatiently(HTTPClientRequest(url: "\(base)/status/503")).status == 503)
        }
        await http.shutdown()
    }

    @Test("a slow server hits the timeout; a closed port is refused")
    func failures() async throws {
        let http = CurlHTTPClient()
        _ = try await withTestServer { base in
            await #expect {
                try await http.sendPatiently(HTTPClientRequest(url: "\(base)/slow", timeout: .milliseconds(300)))
            } throws: { error in
                (error as? CurlError)?.isTimeout == true
            }
        }
        await #expect {
            try await http.sendPatiently(HTTPClientRequest(url: "http://127.0.0.1:1/nothing"))
        } throws: { error in
            (error as? CurlError)?.isConnectionRefused == true
        }
        await http.shutdown()
    }

    @Test("50 concurrent requests through 4 transfer slots all complete")
    func concurrency() async throws {
        let http = CurlHTTPClient(maxConcurrentRequests: 4, queueTimeout: Patience.standard)
        try await withTestServer { base in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        let response = try await http.sendPatiently(HTTPClientRequest(method: "POST", url: "\(base)/echo", body: Array("\(index)".utf8)))
                        return Int(response.text)!
                    }
                }
                var seen = Set<Int>()
                for try await value in group { seen.insert(value) }
                #expect(seen == Set(0..<50))
            }
        }
        await http.shutdown()
    }

    @Test("as a service it serves until its group shuts down, then refuses: the group owns its threads")
    func lifecycle() async throws {
        let http = CurlHTTPClient(maxConcurrentRequests: 2)
        try await withTestServer { base in
            let group = ServiceGroup(configuration: .init(services: [.init(service: http)], logger: Logger(label: "test")))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                #expect(try await http.sendPatiently(HTTPClientRequest(url: "\(base)/json")).status == 200)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            await #expect(throws: CurlError.self) { _ = try await http.sendPatiently(HTTPClientRequest(url: "\(base)/json")) }
        }
    }

    @Test("withClient shuts its client down after the body, also when the body throws")
    func scoped() async throws {
        struct Boom: Error {}
        try await withTestServer { base in
            let kept = LockedValue<CurlHTTPClient?>(nil)
            let status = try await CurlHTTPClient.withClient { http in
                kept.withLock { $0 = http }
                return try await http.sendPatiently(HTTPClientRequest(url: "\(base)/json")).status
            }
            #expect(status == 200)
            await #expect(throws: CurlError.self) { _ = try await kept.value!.sendPatiently(HTTPClientRequest(url: "\(base)/json")) }
            await #expect(throws: Boom.self) { try await CurlHTTPClient.withClient { _ in throw Boom() } }
        }
    }
}
