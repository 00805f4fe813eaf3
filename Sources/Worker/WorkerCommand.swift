import ArgumentParser
import Foundation
import HappeningAMQP
import HappeningCore
import HappeningPostgres

/// `happening-worker`: the booking worker. This build has its dependency check; the consumer that books
/// jobs arrives with the worker issue (order 3 of 8), so running without a subcommand says so and fails.
@main
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "happening-worker",
        abstract: "Consumes booking_jobs and books tickets without overselling.",
        subcommands: [Check.self])

    mutating func run() async throws {
        FileHandle.standardError.write(Data("happening-worker: the booking consumer is not built yet (see the worker issue); `happening-worker check` verifies its dependencies\n".utf8))
        throw ExitCode(2)
    }

    /// Verifies that PostgreSQL answers and declares the durable booking queue and its dead-letter queue.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check PostgreSQL and declare the booking queues.")

        mutating func run() async throws {
            let endpoints = try ServiceEndpoints(Settings(ProcessInfo.processInfo.environment))
            let postgres = PostgresClient(configuration: .init(url: endpoints.databaseURL, poolSize: 1))
            let queue = AMQPQueue(name: BookingQueueNames.jobs, deadLetterQueue: BookingQueueNames.deadLetters)
            let publisher = AMQPPublisher(configuration: try AMQPConfiguration(url: endpoints.amqpURL), queue: queue)
            let events: Int = try await postgres.query("SELECT count(*) FROM events")[0].decode(0)
            try await publisher.declareTopology()
            let waiting = try await publisher.messageCount(queue.name)
            print("postgres: up (\(events) events)")
            print("rabbitmq: up (\(queue.name): \(waiting) waiting, dead letters in \(queue.deadLetterQueue))")
            await postgres.shutdown()
            await publisher.shutdown()
        }
    }
}
