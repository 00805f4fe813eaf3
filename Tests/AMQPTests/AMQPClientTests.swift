import Foundation
import HappeningAMQP
import TestSupport
import Testing

@Suite("RabbitMQ client", .timeLimit(.minutes(10)))
struct AMQPClientTests {
    @Test("publish with confirm, consume, ack: a round trip")
    func roundTrip() async throws {
        let queue = uniqueQueue("roundtrip")
        let config = try amqpConfiguration()
        let publisher = AMQPPublisher(configuration: config, queue: queue)
        let sent = message(#"{"event_id":"e1","ticket_count":2}"#, id: "booking-1")
        try await publisher.publish(sent)
        #expect(try await publisher.messageCount(queue.name) == 1)

        let consumer = AMQPConsumer(configuration: config, queue: queue, prefetch: 1)
        try await withConsumer(consumer) { inbox in
            let delivery = try #require(await inbox.next())
            #expect(delivery.body == sent.body)
            #expect(delivery.messageID == "booking-1")
            #expect(!delivery.redelivered)
            try await consumer.ack(delivery)
        }
        #expect(try await publisher.messageCount(queue.name) == 0)
        try await publisher.deleteQueues()
        await publisher.shutdown()
    }

    @Test("prefetch 1: the second message waits until the first is acked")
    func prefetchIsHonoured() async throws {
        let queue = uniqueQueue("prefetch")
        let config = try amqpConfiguration()
        let publisher = AMQPPublisher(configuration: config, queue: queue)
        try await publisher.publish(message("first"))
        try await publisher.publish(message("second"))

        let consumer = AMQPConsumer(configuration: config, queue: queue, prefetch: 1)
        try await withConsumer(consumer) { inbox in
            let first = try #require(await inbox.next())
            #expect(first.body == Array("first".utf8))
            #expect(await inbox.next(within: .milliseconds(600)) == nil, "a second delivery arrived before the first was acked")
            try await consumer.ack(first)
            let second = try #require(await inbox.next())
            #expect(second.body == Array("second".utf8))
            try await consumer.ack(second)
        }
        try await publisher.deleteQueues()
        await publisher.shutdown()
    }

    @Test("nack with requeue redelivers the message, marked redelivered")
    func nackRequeueRedelivers() async throws {
        let queue = uniqueQueue("nack")
        let config = try amqpConfiguration()
        let publisher = AMQPPublisher(configuration: config, queue: queue)
        try await publisher.publish(message("again"))
        let consumer = AMQPConsumer(configuration: config, queue: queue, prefetch: 1)
        try await withConsumer(consumer) { inbox in
            let first = try #require(await inbox.next())
            #expect(!first.redelivered)
            try await consumer.nack(first, requeue: true)
            let second = try #require(await inbox.next())
            #expect(second.redelivered)
            #expect(second.body == Array("again".utf8))
            try await consumer.ack(second)
        }
        try await publisher.deleteQueues()
        await publisher.shutdown()
    }

    @Test("a rejected message lands in the dead-letter queue")
    func rejectDeadLetters() async throws {
        let queue = uniqueQueue("dlq")
        let config = try amqpConfiguration()
        let publisher = AMQPPublisher(configuration: config, queue: queue)
        try await publisher.publish(message("not json at all", id: "poison"))
        let consumer = AMQPConsumer(configuration: config, queue: queue, prefetch: 1)
        try await withConsumer(consumer) { inbox in
            let poison = try #require(await inbox.next())
            try await consumer.reject(poison)
        }
        let dead = try await eventually(
            "the rejected message in the dead-letter queue",
            {
                try await publisher.messageCount(queue.deadLetterQueue)
            }, until: { $0 > 0 })
        #expect(dead == 1)
        #expect(try await publisher.messageCount(queue.name) == 0)
        try await publisher.deleteQueues()
        await publisher.shutdown()
    }

    @Test("1,000 concurrent publishes are all confirmed and stored")
    func concurrentPublishes() async throws {
        let queue = uniqueQueue("burst")
        let publisher = AMQPPublisher(configuration: try amqpConfiguration(), queue: queue)
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<1000 {
                group.addTask { try await publisher.publish(message("job \(index)", id: "job-\(index)")) }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        #expect(try await publisher.messageCount(queue.name) == 1000)
        print("1000 confirmed persistent publishes took \(elapsed)")
        try await publisher.deleteQueues()
        await publisher.shutdown()
    }

    @Test("AMQP_URL parsing")
    func urlParsing() throws {
        let config = try AMQPConfiguration(url: "amqp://guest:p%40ss@127.0.0.1:55672/%2f")
        #expect(config.host == "127.0.0.1" && config.port == 55672 && config.user == "guest" && config.password == "p@ss" && config.virtualHost == "/")
        #expect(try AMQPConfiguration(url: "amqp://u:p@h/prod").virtualHost == "prod")
        #expect(throws: AMQPConfiguration.InvalidURL.self) { try AMQPConfiguration(url: "http://h") }
    }
}
