import Foundation
import Logging
import ServiceLifecycle
import TestSupport
import Testing

@testable import HappeningRedis

@Suite("Redis invalidation listener (client tracking)", .timeLimit(.minutes(10)))
struct RedisInvalidationListenerTests {
    /// Collects what the listener reports, for a test to wait on.
    final class Recorder: Sendable {
        let events = LockedValue<[RedisInvalidationListener.Event]>([])
        func record(_ event: RedisInvalidationListener.Event) { events.withLock { $0.append(event) } }

        /// Waits (bounded) until `predicate` holds for the events so far.
        func wait(_ what: String, timeout: Duration = Patience.standard, _ predicate: ([RedisInvalidationListener.Event]) -> Bool) async throws {
            try await eventually(what, within: timeout) {
                events.withLock { $0 }
            } until: {
                predicate($0)
            }
        }

        func invalidatedKeys() -> Set<String> {
            Set(
                events.withLock { $0 }.flatMap { event -> [String] in
                    if case .invalidated(let keys) = event { return keys }
                    return []
                })
        }
    }

    /// Runs a listener for `prefix` while `body` runs, then shuts it down gracefully.
    private func withListener(
        prefix: String, name: String = "happening-test-tracking", _ body: (Recorder) async throws -> Void
    ) async throws {
        let recorder = Recorder()
        let listener = RedisInvalidationListener(
            configuration: try RedisConfiguration(url: TestEnvironment.redisURL), prefixes: [prefix], connectionName: name,
            handler: recorder.record)
        let group = ServiceGroup(configuration: .init(services: [listener], logger: .init(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { tasks.cancelAll() }
            try await recorder.wait("the subscription") { $0.contains(.live) }
            try await body(recorder)
            await group.triggerGracefulShutdown()
            try await tasks.next()
        }
        #expect(recorder.events.withLock { $0.last } == .reset, "shutting down ends with a reset")
    }

    @Test("a write, a delete and an expiry under the prefix by another client are reported; other keys are not")
    func reportsChanges() async throws {
        let prefix = "test-tracking-\(TestEnvironment.uniqueSuffix()):"
        let redis = RedisClient(configuration: try RedisConfiguration(url: TestEnvironment.redisURL))
        try await withListener(prefix: prefix) { recorder in
            try await redis.set(prefix + "a", value: "1")
            try await redis.delete([prefix + "b-missing", prefix + "a"])
            try await redis.set(prefix + "short", value: "x", expiresIn: .milliseconds(100))
            try await redis.set("elsewhere-\(prefix)", value: "1")
            try await recorder.wait("the write and the delete") { _ in recorder.invalidatedKeys().contains(prefix + "a") }
            // Redis reports an expiry when it removes the key (reading it after its TTL forces that).
            try await eventually("the 100 ms key to expire") { try await redis.get(prefix + "short") == nil }
            try await recorder.wait("the expiry") { _ in recorder.invalidatedKeys().contains(prefix + "short") }
            #expect(!recorder.invalidatedKeys().contains("elsewhere-\(prefix)"))
        }
        try await redis.delete(["elsewhere-\(prefix)"])
        await redis.shutdown()
    }

    @Test("a killed connection is reported as a reset, and the listener subscribes again on its own")
    func recoversFromKill() async throws {
        let prefix = "test-tracking-\(TestEnvironment.uniqueSuffix()):"
        let redis = RedisClient(configuration: try RedisConfiguration(url: TestEnvironment.redisURL))
        let name = "happening-test-\(TestEnvironment.uniqueSuffix())"
        try await withListener(prefix: prefix, name: name) { recorder in
            // The listener names its connection (CLIENT SETNAME), so this test kills exactly that one.
            let clients = try #require(try await redis.send(["CLIENT", "LIST", "TYPE", "pubsub"]).string)
            let ids = clients.split(separator: "\n").filter { $0.contains(" name=\(name) ") }.compactMap { line in
                line.split(separator: " ").first { $0.hasPrefix("id=") }.map { String($0.dropFirst(3)) }
            }
            #expect(ids.count == 1)
            for id in ids { try await redis.send(["CLIENT", "KILL", "ID", RedisArgument(id)]) }
            try await recorder.wait("reset then live again") { events in
                guard let reset = events.firstIndex(of: .reset) else { return false }
                return events[(reset + 1)...].contains(.live)
            }
            try await redis.set(prefix + "after", value: "1")
            try await recorder.wait("a change after the reconnect") { _ in recorder.invalidatedKeys().contains(prefix + "after") }
            try await redis.delete([prefix + "after"])
        }
        await redis.shutdown()
    }

    @Test("FLUSHDB's null payload and malformed pushes map to the right events")
    func messageParsing() {
        let channel = RedisValue.bulk(Array(RedisInvalidationListener.channel.utf8))
        #expect(
            RedisInvalidationListener.event(from: .array([.bulk(Array("message".utf8)), channel, .array([.bulk(Array("k".utf8))])]))
                == .invalidated(["k"]))
        #expect(RedisInvalidationListener.event(from: .array([.bulk(Array("message".utf8)), channel, .null])) == .reset)
        #expect(RedisInvalidationListener.event(from: .array([.bulk(Array("subscribe".utf8)), channel, .integer(1)])) == nil)
        #expect(RedisInvalidationListener.event(from: .status("OK")) == nil)
    }
}
