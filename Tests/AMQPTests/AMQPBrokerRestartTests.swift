import Foundation
import HappeningAMQP
import TestSupport
import Testing

/// Restarts a RabbitMQ node of its own (started with scripts/services.sh in a throw-away run directory on
/// other ports), so the shared broker keeps serving the other tests.
@Suite("RabbitMQ across a broker restart", .serialized, .timeLimit(.minutes(10)))
struct AMQPBrokerRestartTests {
    @Test("a persistent message survives a restart; publisher and consumer reconnect")
    func survivesRestart() async throws {
        // Above the ephemeral range (32768–60999): a port there can be taken by any outgoing connection of a busy test run.
        let port = 61_000 + Int.random(in: 0..<100) * 25
        let runDir = FileManager.default.temporaryDirectory.appendingPathComponent("happening-rmq-\(port)").path
        let env = ["HAPPENING_RUN_DIR": runDir, "AMQP_PORT": "\(port)"]
        let up = try await TestEnvironment.shellOffPool("scripts/services.sh up rabbitmq", environment: env)
        #expect(up.status == 0, "\(up.output)")
        // Stopped off the cooperative pool (a broker stop takes seconds), also when the test fails.
        let cleanup = "scripts/services.sh down rabbitmq; rm -rf \(runDir)"
        do { try await exerciseRestarts(port: port, env: env) } catch {
            _ = try? await TestEnvironment.shellOffPool(cleanup, environment: env)
            throw error
        }
        _ = try? await TestEnvironment.shellOffPool(cleanup, environment: env)
    }

    private func exerciseRestarts(port: Int, env: [String: String]) async throws {
        let config = try AMQPConfiguration(
            url: "amqp://guest:guest@127.0.0.1:\(port)/%2f", confirmTimeout: Patience.standard,
            reconnectBackoff: .milliseconds(50), maximumBackoff: .milliseconds(500))
        let queue = AMQPQueue(name: "booking_jobs")
        let publisher = AMQPPublisher(configuration: config, queue: queue)
        try await publisher.publish(message("kept across the restart", id: "durable-1"))

        // Broker down: a publish fails instead of pretending.
        #expect(try await TestEnvironment.shellOffPool("scripts/services.sh down rabbitmq", environment: env).status == 0)
        await #expect {
            try await publisher.publish(message("while down"))
        } throws: { error in
            (error as? AMQPError)?.kind == .connection
        }
        let restart = try await TestEnvironment.shellOffPool("scripts/services.sh up rabbitmq", environment: env)
        #expect(restart.status == 0, "\(restart.output)")

        // The publisher reconnects (after its backoff) and the persistent message is still there.
        let count = try await eventually("the publisher to reach the restarted broker", within: Patience.startup, every: .milliseconds(100)) {
            try await publisher.messageCount(queue.name)
        } until: { _ in
            true
        }
        #expect(count == 1)
        try await publisher.publish(message("after the restart", id: "durable-2"))

        let consumer = AMQPConsumer(configuration: config, queue: queue, prefetch: 5)
        try await withConsumer(consumer) { inbox in
            let first = try #require(await inbox.next())
            #expect(first.messageID == "durable-1")
            #expect(first.body == Array("kept across the restart".utf8))
            let second = try #require(await inbox.next())
            #expect(second.messageID == "durable-2")
            try await consumer.ack(first)
            try await consumer.ack(second)

            // The consumer itself rides out a restart: it reconnects and keeps consuming.
            let bounce = try await TestEnvironment.shellOffPool("scripts/services.sh restart rabbitmq", environment: env)
            #expect(bounce.status == 0, "\(bounce.output)")
            try await eventually("a publish to the bounced broker", within: Patience.startup, every: .milliseconds(100)) {
                try await publisher.publish(message("after the bounce", id: "durable-3"))
                return true
            }
            let third = try #require(await inbox.next(within: Patience.startup))
            #expect(third.messageID == "durable-3")
            try await consumer.ack(third)
        }
        await publisher.shutdown()
    }
}
