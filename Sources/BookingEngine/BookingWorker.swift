import EventAvailability
import Foundation
import HappeningAMQP
import HappeningModel
import HappeningPostgres
import Logging
import Metrics
import ServiceLifecycle

/// Drains booking jobs from an ``AMQPConsumer``: decodes each job, decides it (``BookingDecider``), acks
/// after COMMIT, and never loses one.
///
/// - A malformed message is rejected to the dead-letter queue with a log line; the worker keeps going.
/// - Cancelled mid-decision, it leaves the jobs unsettled for redelivery: a stop is never recorded as a failure.
/// - A transient database error (connection lost, serialization failure, deadlock …) is retried with
///   backoff for `maxAttempts` tries. If the database is still out of reach then (restarting, down), the
///   jobs go back to the queue after a pause and are decided once it is back: an accepted booking is never
///   dropped for an outage. Contention that persists (a lock held for ever) and any other error record the
///   booking `failed/error` and dead-letter the message.
/// - Up to `concurrency` decisions run at once (`batch` takes up to `batchSize` jobs per decision).
/// - It runs until the consumer's delivery stream ends, which on graceful shutdown happens after the
///   consumer stopped consuming and every delivery in flight was settled; so list it *before* the
///   consumer in a service group (shutdown runs in reverse order).
public struct BookingWorker: Service {
    let consumer: AMQPConsumer
    let decider: BookingDecider
    let concurrency: Int
    let batchSize: Int
    let maxAttempts: Int
    /// The pause before jobs that met a persistent transient error go back to the queue.
    let requeueDelay: Duration
    /// The `confirm-then-roll-back` mutation: every booking that took tickets is undone this long after its decision
    /// (nil: never; only for the tests that show the Bench's history check catches it).
    let undoAfter: Duration?
    let logger: Logger

    public init(
        consumer: AMQPConsumer, decider: BookingDecider,
        concurrency: Int = 1, batchSize: Int = 50, maxAttempts: Int = 5, requeueDelay: Duration = .seconds(1), undoAfter: Duration? = nil,
        logger: Logger
    ) {
        self.undoAfter = undoAfter
        self.consumer = consumer
        self.decider = decider
        self.concurrency = max(1, concurrency)
        self.batchSize = max(1, batchSize)
        self.maxAttempts = max(1, maxAttempts)
        self.requeueDelay = requeueDelay
        self.logger = logger
    }

    /// The unacked deliveries (`basic.qos` prefetch) that keep `concurrency` decisions busy: one per decision, a
    /// full batch per decision for the batch strategy. A `requested` value is kept when it is larger, never when it
    /// is smaller: with fewer, the broker holds back the jobs the other decisions would have taken, and the
    /// worker decides one at a time whatever `--concurrency` says.
    public static func prefetch(requested: Int?, concurrency: Int, batchSize: Int, strategy: BookingStrategy) -> Int {
        let needed = max(1, concurrency) * (strategy == .batch ? max(1, batchSize) : 1)
        return max(requested ?? needed, needed)
    }

    public func run() async throws {
        let buffer = DeliveryBuffer()
        let take = decider.strategy == .batch ? batchSize : 1
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await delivery in consumer.deliveries { await buffer.append(delivery) }
                await buffer.finish()
            }
            for _ in 0..<concurrency {
                group.addTask {
                    while let deliveries = await buffer.take(max: take) { await handle(deliveries) }
                }
            }
        }
    }

    /// Decodes, decides (with retries), settles.
    func handle(_ deliveries: [AMQPDelivery]) async {
        var jobs: [(AMQPDelivery, BookingJob)] = []
        for delivery in deliveries {
            do {
                jobs.append((delivery, try BookingJob.decode(delivery.body)))
            } catch {
                logger.error("malformed booking job dead-lettered", metadata: ["message_id": "\(delivery.messageID)", "bytes": "\(delivery.body.count)"])
                await settle { try await consumer.reject(delivery) }
            }
        }
        guard !jobs.isEmpty else { return }
        var attempt = 0
        while true {
            attempt += 1
            do {
                let started = ContinuousClock.now
                let outcomes = try await decider.decideAll(jobs.map(\.1))
                // Each decision published its new tickets left and released its jobs' admission claims after its commit.
                Self.record(outcomes, took: ContinuousClock.now - started, strategy: decider.strategy)
                for (delivery, _) in jobs { await settle { try await consumer.ack(delivery) } }
                if let undoAfter { undo(zip(jobs.map(\.1), outcomes).filter { $0.1.tookTickets }.map(\.0), after: undoAfter) }
                return
            } catch  where Task.isCancelled {
                // Stopped mid-decision: not the job's fault, so never recorded failed nor dead-lettered. Left
                // unsettled, it is handed out again when this consumer's channel closes (idempotent by booking id).
                logger.notice("stopped while deciding; jobs left to be redelivered", metadata: ["jobs": "\(jobs.count)"])
                return
            } catch let error as PostgresError where error.isTransient && attempt < maxAttempts {
                logger.warning("transient database error; retrying", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(50 << min(attempt, 6)))
            } catch let error as PostgresError where error.isUnavailable {
                logger.warning("database unavailable; booking jobs returned to the queue", metadata: ["jobs": "\(jobs.count)", "error": "\(error)"])
                try? await Task.sleep(for: requeueDelay)  // redeliveries must not spin while it is away
                for (delivery, _) in jobs { await settle { try await consumer.nack(delivery, requeue: true) } }
                return
            } catch  where jobs.count > 1 {
                // One bad job must not sink its batch: decide them one by one.
                for (delivery, _) in jobs { await handle([delivery]) }
                return
            } catch {
                logger.error("booking job could not be decided; dead-lettered", metadata: ["error": "\(error)", "jobs": "\(jobs.count)"])
                for (delivery, job) in jobs {
                    do { try await decider.recordError(job) } catch {
                        logger.error("could not record the failure", metadata: ["booking_id": "\(job.booking_id)", "error": "\(error)"])
                    }
                    await settle { try await consumer.reject(delivery) }
                }
                Counter(label: "happening_worker_dead_lettered_total").increment(by: jobs.count)
                // Dead-lettered jobs claim nothing any more.
                await decider.ticketsLeft.release(decider.claims(jobs.map(\.1)), logger: logger)
                return
            }
        }
    }

    /// The `confirm-then-roll-back` mutation: `jobs` undone `delay` from now (each undo publishes its tickets left).
    private func undo(_ jobs: [BookingJob], after delay: Duration) {
        guard !jobs.isEmpty else { return }
        Task { [decider, logger] in
            try? await Task.sleep(for: delay)
            for job in jobs {
                do { try await decider.undo(job) } catch { logger.error("mutation: could not undo a booking", metadata: ["error": "\(error)"]) }
            }
        }
    }

    /// Counts each decision by outcome (`happening_worker_decisions_total{outcome}`) and times the decision call
    /// (`happening_worker_decision_seconds{strategy}`: one job, or one batch): the worker's `/metrics`.
    static func record(_ outcomes: [BookingOutcome], took: Duration, strategy: BookingStrategy) {
        var counts: [String: Int] = [:]
        for outcome in outcomes {
            switch outcome {
            case .held: counts["held", default: 0] += 1
            case .confirmed: counts["confirmed", default: 0] += 1
            case .alreadyDecided: counts["already_decided", default: 0] += 1
            case .failed(let reason): counts["failed_\(reason.rawValue)", default: 0] += 1
            }
        }
        for (outcome, count) in counts {
            Counter(label: "happening_worker_decisions_total", dimensions: [("outcome", outcome)]).increment(by: count)
        }
        Timer(label: "happening_worker_decision_seconds", dimensions: [("strategy", strategy.rawValue)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(Int64(took.components.seconds) * 1_000_000_000 + took.components.attoseconds / 1_000_000_000)
    }

    /// A settle that fails (the connection dropped: the broker redelivers, and the job is idempotent) is logged.
    private func settle(_ body: () async throws -> Void) async {
        do { try await body() } catch { logger.warning("could not settle a delivery; it will be redelivered", metadata: ["error": "\(error)"]) }
    }
}

/// Deliveries waiting for a decision; each taker gets up to `max` at once.
actor DeliveryBuffer {
    private var waiting: [AMQPDelivery] = []
    private var takers: [CheckedContinuation<[AMQPDelivery]?, Never>] = []
    private var finished = false

    func append(_ delivery: AMQPDelivery) {
        if !takers.isEmpty { takers.removeFirst().resume(returning: [delivery]) } else { waiting.append(delivery) }
    }

    func finish() {
        finished = true
        for taker in takers { taker.resume(returning: nil) }
        takers.removeAll()
    }

    /// Up to `max` deliveries; nil once finished and empty.
    func take(max: Int) async -> [AMQPDelivery]? {
        if !waiting.isEmpty {
            let batch = Array(waiting.prefix(max))
            waiting.removeFirst(batch.count)
            return batch
        }
        if finished { return nil }
        return await withCheckedContinuation { takers.append($0) }
    }
}
