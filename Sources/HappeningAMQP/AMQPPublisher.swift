import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A message to publish: persistent, with an id (the consumer's idempotency key) and a body.
public struct AMQPMessage: Sendable, Equatable {
    /// The message id, e.g. the booking id. Also how an unroutable message is matched to its publish.
    public var id: String
    /// The body bytes (JSON for Happening's jobs).
    public var body: [UInt8]
    /// The content type property.
    public var contentType: String

    /// Creates a message.
    public init(id: String, body: [UInt8], contentType: String = "application/json") {
        self.id = id
        self.body = body
        self.contentType = contentType
    }
}

/// Publishes persistent messages to one durable queue with publisher confirms.
///
/// ``publish(_:)`` returns only after the broker has acked the message (stored it durably in the queue),
/// and throws on a nack, an unroutable message, a confirm timeout or a broken connection, so a caller that
/// got no error knows the message is safe. Concurrent publishes are batched: everything waiting is
/// published in one go and confirmed together, which keeps a flash sale from paying one round trip per
/// message. All librabbitmq calls run on the publisher's own serial queue, never on the cooperative pool.
///
/// A dropped connection is replaced on the next publish; while the broker is unreachable, publishes fail
/// fast and reconnects back off (doubling up to ``AMQPConfiguration/maximumBackoff``).
public final class AMQPPublisher: Service, Sendable {
    private let queue: AMQPQueue
    private let logger: Logger
    private let serial = DispatchQueue(label: "happening.amqp.publisher")
    private let core: PublisherCore
    private let state = Mutex(State())

    private struct Pending {
        let message: AMQPMessage
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var pending: [Pending] = []
        var draining = false
        var closed = false
    }

    /// Creates a publisher for `queue`; it connects on the first publish.
    public init(configuration: AMQPConfiguration, queue: AMQPQueue, logger: Logger = Logger(label: "happening.amqp")) {
        self.queue = queue
        self.logger = logger
        self.core = PublisherCore(configuration: configuration, queue: queue)
    }

    /// Publishes one message and returns once the broker has confirmed it.
    public func publish(_ message: AMQPMessage) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let startDrain = state.withLock { state -> Bool? in
                if state.closed { return nil }
                state.pending.append(Pending(message: message, continuation: continuation))
                defer { state.draining = true }
                return !state.draining
            }
            switch startDrain {
            case nil: continuation.resume(throwing: AMQPError(kind: .closed))
            case true?: serial.async { self.drain() }
            case false?: break
            }
        }
    }

    /// Runs until graceful shutdown (or cancellation), then finishes publishes in flight and disconnects.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Refuses new publishes, waits for those in flight, and closes the connection.
    public func shutdown() async {
        state.withLock { $0.closed = true }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            serial.async {
                self.drain()
                self.core.disconnect()
                continuation.resume()
            }
        }
    }

    /// Declares the queue and its dead-letter queue now (they are also declared on every connect).
    public func declareTopology() async throws {
        try await onSerialQueue { try $0.withConnection { _ in } }
    }

    /// The number of ready messages in `name` (passive declare): for tests and health checks.
    public func messageCount(_ name: String) async throws -> Int {
        try await onSerialQueue { try $0.withConnection { try $0.messageCount(name) } }
    }

    /// Deletes every ready message in `name`; returns how many there were.
    @discardableResult
    public func purge(_ name: String) async throws -> Int {
        try await onSerialQueue { try $0.withConnection { try $0.purge(name) } }
    }

    /// Deletes the queue and its dead-letter queue (for tests and tear-down).
    public func deleteQueues() async throws {
        let queue = self.queue
        try await onSerialQueue { core in
            try core.withConnection { connection in
                try connection.delete(queue.name)
                try connection.delete(queue.deadLetterQueue)
            }
            core.disconnect()  // the next publish reconnects and declares them again
        }
    }

    private func onSerialQueue<T: Sendable>(_ body: @escaping @Sendable (PublisherCore) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            serial.async { continuation.resume(with: Result { try body(self.core) }) }
        }
    }

    /// Publishes everything waiting, batch after batch, until nothing is left. Runs on `serial`.
    private func drain() {
        while true {
            let batch = state.withLock { state -> [Pending] in
                let batch = state.pending
                state.pending.removeAll()
                if batch.isEmpty { state.draining = false }
                return batch
            }
            if batch.isEmpty { return }
            let results = core.publishBatch(batch.map(\.message))
            for (pending, result) in zip(batch, results) {
                switch result {
                case .success: pending.continuation.resume()
                case .failure(let error):
                    logger.debug("amqp publish failed", metadata: ["error": "\(error)", "queue": "\(queue.name)"])
                    pending.continuation.resume(throwing: error)
                }
            }
        }
    }
}

/// The publisher's connection and its confirm bookkeeping. `@unchecked Sendable`: only ever used on the
/// publisher's serial queue.
private final class PublisherCore: @unchecked Sendable {
    let configuration: AMQPConfiguration
    let queue: AMQPQueue
    private var connection: RabbitConnection?
    private var nextTag: UInt64 = 1
    private var backoff: Duration
    private var retryAfter: ContinuousClock.Instant?

    init(configuration: AMQPConfiguration, queue: AMQPQueue) {
        self.configuration = configuration
        self.queue = queue
        self.backoff = configuration.reconnectBackoff
    }

    func disconnect() { connection = nil }

    /// Runs `body` on a live connection, connecting (with backoff) if needed.
    func withConnection<T>(_ body: (RabbitConnection) throws -> T) throws -> T {
        if let connection, connection.isAliveWhenIdle() { return try body(connection) }
        connection = nil
        if let retryAfter, ContinuousClock.now < retryAfter {
            throw AMQPError(kind: .connection, detail: "broker unreachable; retrying shortly")
        }
        do {
            let fresh = try RabbitConnection(configuration: configuration, heartbeat: 0)
            try fresh.declare(queue)
            try fresh.enableConfirms()
            connection = fresh
            nextTag = 1
            backoff = configuration.reconnectBackoff
            retryAfter = nil
            return try body(fresh)
        } catch {
            retryAfter = ContinuousClock.now + backoff
            backoff = min(backoff * 2, configuration.maximumBackoff)
            throw error
        }
    }

    /// Publishes a batch and waits for the broker's verdict on each message.
    func publishBatch(_ messages: [AMQPMessage]) -> [Result<Void, AMQPError>] {
        var attempt = 0
        while true {
            attempt += 1
            var outcome = [Result<Void, AMQPError>?](repeating: nil, count: messages.count)
            var anyConfirmed = false
            do {
                try withConnection { connection in
                    let firstTag = nextTag
                    for message in messages {
                        try connection.publish(message, to: queue.name)
                        nextTag += 1
                    }
                    try awaitConfirms(connection, messages: messages, firstTag: firstTag, outcome: &outcome, anyConfirmed: &anyConfirmed)
                }
                return outcome.map { $0 ?? .failure(AMQPError(kind: .connection)) }
            } catch {
                connection = nil
                let failure = (error as? AMQPError) ?? AMQPError(kind: .connection)
                // Nothing confirmed yet on a connection that turned out dead: publish once more on a fresh one.
                // (A message may then reach the queue twice; consumers are idempotent on the message id.)
                if attempt == 1, !anyConfirmed, failure.kind == .connection, retryAfter == nil { continue }
                return outcome.map { $0 ?? .failure(failure) }
            }
        }
    }

    private func awaitConfirms(
        _ connection: RabbitConnection,
        messages: [AMQPMessage],
        firstTag: UInt64,
        outcome: inout [Result<Void, AMQPError>?],
        anyConfirmed: inout Bool
    ) throws {
        var returned = Set<Int>()
        let deadline = ContinuousClock.now + configuration.confirmTimeout
        func settle(_ tag: UInt64, multiple: Bool, _ result: Result<Void, AMQPError>) {
            let range = multiple ? firstTag...tag : tag...tag
            for tag in range where tag >= firstTag && tag < firstTag + UInt64(messages.count) {
                let index = Int(tag - firstTag)
                if outcome[index] == nil {
                    outcome[index] = returned.contains(index) ? .failure(AMQPError(kind: .unroutable)) : result
                    anyConfirmed = true
                }
            }
        }
        while outcome.contains(where: { $0 == nil }) {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else {
                for index in outcome.indices where outcome[index] == nil { outcome[index] = .failure(AMQPError(kind: .confirmTimeout)) }
                self.connection = nil  // confirms for these may still arrive; never mix them with new tags
                return
            }
            switch try connection.nextConfirmEvent(timeout: remaining) {
            case nil: continue
            case .ack(let tag, let multiple)?: settle(tag, multiple: multiple, .success(()))
            case .nack(let tag, let multiple)?: settle(tag, multiple: multiple, .failure(AMQPError(kind: .nacked)))
            case .returned(let id)?:
                if let index = messages.indices.first(where: { messages[$0].id == id && outcome[$0] == nil && !returned.contains($0) }) {
                    returned.insert(index)
                }
            }
        }
    }
}
