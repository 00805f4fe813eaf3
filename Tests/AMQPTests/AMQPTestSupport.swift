import Foundation
import HappeningAMQP
import TestSupport

/// Runs a consumer for the duration of `body`, collecting its deliveries in an inbox.
func withConsumer<T: Sendable>(
    _ consumer: AMQPConsumer,
    _ body: (Inbox) async throws -> T
) async throws -> T {
    let inbox = Inbox()
    return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
        group.addTask { try await consumer.run() }
        group.addTask { for await delivery in consumer.deliveries { await inbox.add(delivery) } }
        do {
            let value = try await body(inbox)
            group.cancelAll()
            return value
        } catch {
            group.cancelAll()
            throw error
        }
    }
}

/// Deliveries received so far, taken in order.
actor Inbox {
    private var received: [AMQPDelivery] = []

    func add(_ delivery: AMQPDelivery) { received.append(delivery) }

    /// The next delivery, or nil if none arrives within `timeout`.
    func next(within timeout: Duration = Patience.standard) async -> AMQPDelivery? {
        let deadline = ContinuousClock.now + timeout
        while received.isEmpty {
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return received.removeFirst()
    }
}

func message(_ text: String, id: String = UUID().uuidString) -> AMQPMessage {
    AMQPMessage(id: id, body: Array(text.utf8))
}

func uniqueQueue(_ label: String) -> AMQPQueue {
    AMQPQueue(name: "test.\(label).\(TestEnvironment.uniqueSuffix())")
}

func amqpConfiguration(_ url: String = TestEnvironment.amqpURL) throws -> AMQPConfiguration {
    try AMQPConfiguration(url: url, confirmTimeout: Patience.standard)
}
