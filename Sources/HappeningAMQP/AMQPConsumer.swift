import Foundation
import HappeningSystem
import Logging
import ServiceLifecycle
import Synchronization

/// A message delivered to an ``AMQPConsumer``. Settle it exactly once: ack, nack or reject.
public struct AMQPDelivery: Sendable {
    /// The broker's delivery tag on the connection that delivered it.
    public let deliveryTag: UInt64
    /// True when the broker delivered this message before (it was not acked then).
    public let redelivered: Bool
    /// The message id property (Happening puts the booking id there).
    public let messageID: String
    /// The body bytes.
    public let body: [UInt8]
    /// Which connection delivered it; a settle on a later connection is void (the broker redelivers).
    let generation: Int
}

/// Consumes one durable queue with manual acknowledgement and a prefetch limit, as a lifecycle service.
///
/// ```swift
/// let consumer = AMQPConsumer(configuration: config, queue: AMQPQueue(name: "booking_jobs"), prefetch: 1)
/// // run `consumer` in a ServiceGroup (or a task), then:
/// for await delivery in consumer.deliveries {
///     … handle, commit …
///     try await consumer.ack(delivery)
/// }
/// ```
///
/// librabbitmq is driven from one thread the consumer owns, so the cooperative pool never blocks. The
/// broker sends at most `prefetch` unacked deliveries. If the connection drops, the consumer reconnects
/// with backoff and consumes again; deliveries from the old connection can no longer be settled (their
/// settle throws `.staleDelivery`) and the broker redelivers them. On graceful shutdown it stops taking
/// new deliveries, waits up to `drainTimeout` for those in flight to be settled, then closes.
public final class AMQPConsumer: Service, Sendable {
    /// Deliveries, in order; finishes when the consumer stops.
    public let deliveries: AsyncStream<AMQPDelivery>
    private let output: AsyncStream<AMQPDelivery>.Continuation
    private let configuration: AMQPConfiguration
    private let queue: AMQPQueue
    private let prefetch: Int
    private let drainTimeout: Duration
    private let logger: Logger
    private let shared = Mutex(Shared())
    /// A pipe: settle and stop requests write a byte to `[1]` to wake the consumer thread polling `[0]`.
    private let wakePipe: (read: Int32, write: Int32)

    private enum Settle: Sendable {
        case ack
        case nack(requeue: Bool)
        case reject
    }

    private struct Command {
        let settle: Settle
        let delivery: AMQPDelivery
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct Shared {
        var commands: [Command] = []
        var stop: StopRequest?
        var finished = false
        var started = false
    }

    private enum StopRequest { case graceful, immediate }

    /// Creates a consumer; it connects when ``run()`` starts.
    /// - Parameters:
    ///   - prefetch: most unacked deliveries the broker sends (basic.qos), default 1.
    ///   - drainTimeout: how long a graceful shutdown waits for in-flight deliveries to be settled.
    public init(
        configuration: AMQPConfiguration,
        queue: AMQPQueue,
        prefetch: Int = 1,
        drainTimeout: Duration = .seconds(30),
        logger: Logger = Logger(label: "happening.amqp")
    ) {
        (self.deliveries, self.output) = AsyncStream.makeStream(of: AMQPDelivery.self)
        self.configuration = configuration
        self.queue = queue
        self.prefetch = max(1, prefetch)
        self.drainTimeout = drainTimeout
        self.logger = logger
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0, "cannot create the consumer's wake-up pipe")
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        self.wakePipe = (fds[0], fds[1])
    }

    deinit {
        close(wakePipe.read)
        close(wakePipe.write)
    }

    // MARK: Settling

    /// Acknowledges a delivery: the broker forgets the message.
    public func ack(_ delivery: AMQPDelivery) async throws { try await settle(.ack, delivery) }

    /// Negatively acknowledges a delivery; with `requeue` the broker delivers it again (marked redelivered),
    /// without it the message goes to the dead-letter queue.
    public func nack(_ delivery: AMQPDelivery, requeue: Bool) async throws { try await settle(.nack(requeue: requeue), delivery) }

    /// Rejects a delivery to the dead-letter queue (e.g. a malformed message).
    public func reject(_ delivery: AMQPDelivery) async throws { try await settle(.reject, delivery) }

    private func settle(_ settle: Settle, _ delivery: AMQPDelivery) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let accepted = shared.withLock { shared -> Bool in
                guard !shared.finished else { return false }
                shared.commands.append(Command(settle: settle, delivery: delivery, continuation: continuation))
                return true
            }
            if accepted { wake() } else { continuation.resume(throwing: AMQPError(kind: .closed)) }
        }
    }

    // MARK: Service

    /// Consumes until graceful shutdown or cancellation. Call it once.
    public func run() async throws {
        let alreadyStarted = shared.withLock { shared -> Bool in
            defer { shared.started = true }
            return shared.started
        }
        precondition(!alreadyStarted, "AMQPConsumer.run() called twice")
        await runOnDedicatedThread(named: "happening.amqp.consumer", { self.loop() }) { immediately in
            self.requestStop(immediately ? .immediate : .graceful)
        }
    }

    private func requestStop(_ request: StopRequest) {
        shared.withLock { shared in
            if case .immediate? = shared.stop { return }
            shared.stop = request
        }
        wake()
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)
    }

    // MARK: The consumer thread

    /// What the consumer thread keeps between its turns.
    private struct ThreadState {
        var connection: RabbitConnection?
        var consumerTag: String?
        /// Bumped per connection: a delivery from an earlier one can no longer be settled.
        var generation = 0
        var inFlight = 0
        var backoff: Duration
        var drainDeadline: ContinuousClock.Instant?
    }

    /// Everything librabbitmq does for this consumer happens here, on the consumer's own thread.
    private func loop() {
        var state = ThreadState(backoff: configuration.reconnectBackoff)
        while true {
            let (commands, stop) = shared.withLock { shared -> ([Command], StopRequest?) in
                defer { shared.commands.removeAll() }
                return (shared.commands, shared.stop)
            }
            settle(commands, state: &state)
            if let stop, isDone(stopping: stop, state: &state) { break }
            // (Re)connect when needed.
            if state.connection == nil || state.connection!.isBroken {
                state.connection = nil
                if stop != nil { break }
                guard connect(state: &state) else { continue }
            }
            receive(state: &state)
        }

        let leftover = shared.withLock { shared -> [Command] in
            shared.finished = true
            defer { shared.commands.removeAll() }
            return shared.commands
        }
        for command in leftover { command.continuation.resume(throwing: AMQPError(kind: .closed)) }
        state.connection = nil  // closes channel and connection
        output.finish()
    }

    /// Settles what the handlers asked for; a delivery of an earlier connection fails as stale.
    private func settle(_ commands: [Command], state: inout ThreadState) {
        for command in commands {
            guard let live = state.connection, command.delivery.generation == state.generation else {
                command.continuation.resume(throwing: AMQPError(kind: .staleDelivery))
                continue
            }
            do {
                switch command.settle {
                case .ack: try live.ack(command.delivery.deliveryTag)
                case .nack(let requeue): try live.nack(command.delivery.deliveryTag, requeue: requeue)
                case .reject: try live.reject(command.delivery.deliveryTag)
                }
                state.inFlight -= 1
                command.continuation.resume()
            } catch {
                command.continuation.resume(throwing: error)
            }
        }
    }

    /// Shutting down: stops new deliveries, then waits (bounded) for in-flight ones to be settled. True when the
    /// loop should end now.
    private func isDone(stopping stop: StopRequest, state: inout ThreadState) -> Bool {
        if case .immediate = stop { return true }
        if let live = state.connection, let tag = state.consumerTag {
            try? live.stopConsuming(tag)
            state.consumerTag = nil
        }
        let deadline = state.drainDeadline ?? ContinuousClock.now + drainTimeout
        state.drainDeadline = deadline
        return state.connection == nil || state.inFlight <= 0 || ContinuousClock.now >= deadline
    }

    /// Connects, declares the queue and starts consuming; false after a failure (it has waited out the backoff).
    private func connect(state: inout ThreadState) -> Bool {
        do {
            let fresh = try RabbitConnection(configuration: configuration, heartbeat: configuration.heartbeat)
            try fresh.declare(queue)
            state.consumerTag = try fresh.startConsuming(queue.name, prefetch: prefetch)
            state.connection = fresh
            state.generation += 1
            state.inFlight = 0
            state.backoff = configuration.reconnectBackoff
            logger.debug("amqp consumer connected", metadata: ["queue": "\(queue.name)", "prefetch": "\(prefetch)"])
            return true
        } catch {
            // Warn once per outage, then keep quiet while backing off.
            logger.log(
                level: state.backoff == configuration.reconnectBackoff ? .warning : .debug,
                "amqp consumer cannot connect; retrying", metadata: ["error": "\(error)", "backoff": "\(state.backoff)"])
            waitForWake(upTo: state.backoff)
            state.backoff = min(state.backoff * 2, configuration.maximumBackoff)
            return false
        }
    }

    /// Waits for a delivery or a wake-up, then hands on what arrived; a failure drops the connection.
    private func receive(state: inout ThreadState) {
        guard let live = state.connection else { return }
        if !live.hasBufferedInput { waitForWake(upTo: .milliseconds(250), alsoReadable: live.socket) }
        do {
            while let message = try live.nextDelivery(timeout: .zero) {
                state.inFlight += 1
                output.yield(
                    AMQPDelivery(
                        deliveryTag: message.tag, redelivered: message.redelivered,
                        messageID: message.messageID, body: message.body, generation: state.generation))
                if !live.hasBufferedInput { break }
            }
        } catch {
            logger.warning("amqp consumer connection lost; reconnecting", metadata: ["error": "\(error)"])
            state.connection = nil
        }
    }

    /// Sleeps until woken (a settle or stop request), `socket` is readable, or `timeout` passes.
    private func waitForWake(upTo timeout: Duration, alsoReadable socket: Int32? = nil) {
        var fds = [pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0)]
        if let socket { fds.append(pollfd(fd: socket, events: Int16(POLLIN), revents: 0)) }
        let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        _ = poll(&fds, nfds_t(fds.count), milliseconds)
        var drained = [UInt8](repeating: 0, count: 64)
        while read(wakePipe.read, &drained, drained.count) > 0 {}
    }
}
