import ArgumentParser
import BookingEngine
import EventAvailability
import Foundation
import HappeningAMQP
import HappeningConfig
import HappeningModel
import HappeningPostgres
import HappeningRedis
import Logging
import Metrics
import Payments
import Prometheus
import Razorpay
import ServiceLifecycle
import UnixSignals

/// `happening-worker`: consumes `booking_jobs` and decides each booking in PostgreSQL without overselling.
@main
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "happening-worker",
        abstract: "Consumes booking_jobs and books tickets without overselling.",
        subcommands: [Run.self, Check.self, PublishTestJobs.self, Reconcile.self],
        defaultSubcommand: Run.self)

    /// Runs the worker until SIGTERM/SIGINT (then: stop consuming, finish and ack in-flight jobs, exit).
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Consume and decide booking jobs (the default).")

        @Option(help: "for-update (default), conditional-update, batch, or unsafe (needs --i-know-this-oversells).")
        var strategy: BookingStrategy = .forUpdate
        @Option(
            help:
                "Unacked deliveries the broker may send (basic.qos). At least --concurrency (times --batch for the batch strategy), which is also the default: a smaller value is raised to it."
        )
        var prefetch: Int?
        @Option(help: "Decisions running at once; the broker is asked for at least this many deliveries (see --prefetch).")
        var concurrency = 4
        @Option(help: "Most jobs one batch decision takes (batch strategy).")
        var batch = 50
        @Option(help: "Minutes a hold on a paid event lasts (env HOLD_MINUTES).")
        var holdMinutes: Int?
        @Option(help: "Attempts on transient database errors before a job is dead-lettered.")
        var maxAttempts = 5
        @Option(help: "Seconds between hold sweeps (0 disables the sweeper).")
        var sweepInterval = 5
        @Option(help: "Seconds between payment reconcile passes (0 disables them).")
        var reconcileInterval = 30
        @Flag(name: .customLong("i-know-this-oversells"), help: "Allow --strategy unsafe (it exists to prove the ledger check works).")
        var allowUnsafe = false
        @Option(help: "The unsafe strategy's milliseconds between reading and writing the availability (its race window).")
        var unsafeRaceWindowMs = 2
        @Option(help: "Serve GET /metrics (Prometheus text) on this port (env WORKER_METRICS_PORT; default: not served).")
        var metricsPort: Int?
        @Option(help: "The address /metrics listens on.")
        var metricsHost = "127.0.0.1"

        mutating func validate() throws {
            if strategy == .unsafe, !allowUnsafe { throw ValidationError("--strategy unsafe oversells by design; pass --i-know-this-oversells to run it") }
            if let metricsPort, !(1...65_535).contains(metricsPort) { throw ValidationError("--metrics-port must be 1…65535") }
            guard prefetch ?? 1 >= 1, concurrency >= 1, batch >= 1, maxAttempts >= 1, sweepInterval >= 0, reconcileInterval >= 0, unsafeRaceWindowMs >= 0
            else {
                throw ValidationError("--prefetch, --concurrency, --batch and --max-attempts must be at least 1 (intervals and the race window at least 0)")
            }
        }

        mutating func run() async throws {
            let settings = Settings(ProcessInfo.processInfo.environment)
            let endpoints = try ServiceEndpoints(settings)
            let hold = try holdMinutes ?? settings.integer("HOLD_MINUTES", default: 15, range: 1...1440)
            var logger = Logger(label: "happening.worker")
            logger.logLevel = try settings.logLevel()
            let mutations = try Mutation.active(settings)
            for mutation in mutations.sorted(by: { $0.rawValue < $1.rawValue }) {
                logger.error("MUTATION \(mutation.rawValue) is active: this worker is broken on purpose (a test of the Bench's checks)")
            }
            // Process-wide metrics backend, bootstrapped once here; /metrics (when served) renders this registry.
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            let metricsPort =
                try metricsPort
                ?? (settings.optional("WORKER_METRICS_PORT") == nil ? nil : settings.integer("WORKER_METRICS_PORT", default: 0, range: 1...65_535))

            let postgres = PostgresClient(configuration: .init(url: endpoints.databaseURL, poolSize: concurrency + 2), logger: logger)
            let redis = RedisClient(configuration: try RedisConfiguration(url: endpoints.redisURL, commandTimeout: .milliseconds(500)), logger: logger)
            let queue = AMQPQueue(name: settings.bookingQueueName())
            let chosen = strategy
            let prefetch = BookingWorker.prefetch(requested: prefetch, concurrency: concurrency, batchSize: batch, strategy: chosen)
            let consumer = AMQPConsumer(configuration: try AMQPConfiguration(url: endpoints.amqpURL), queue: queue, prefetch: prefetch, logger: logger)
            let notifier = try WorkerCommand.availabilityNotifier(settings, postgres: postgres, redis: redis)
            let worker = BookingWorker(
                consumer: consumer,
                decider: BookingDecider(
                    postgres: postgres, strategy: chosen, holdMinutes: hold, unsafeRaceWindow: .milliseconds(unsafeRaceWindowMs),
                    perUserLimit: try settings.ticketsPerUserPerEvent(), notifier: notifier,
                    releasesClaims: !mutations.contains(.admissionLeaseOutlivesSale), logger: logger),
                concurrency: concurrency, batchSize: batch, maxAttempts: maxAttempts,
                undoAfter: mutations.contains(.confirmThenRollBack) ? .milliseconds(500) : nil, logger: logger)
            // Shut down in reverse: the notifier's last retry runs after the worker stopped, before Redis closes.
            var services: [any Service] = [postgres, redis, notifier]
            if sweepInterval > 0 {
                services.append(HoldSweeper(postgres: postgres, notifier: notifier, interval: .seconds(sweepInterval), logger: logger))
            }
            if reconcileInterval > 0 {
                let razorpay = RazorpayClient(configuration: try RazorpayConfiguration(settings), logger: logger)
                let payments = PaymentService(ledger: PaymentLedger(postgres: postgres), gateway: razorpay, logger: logger)
                let reconciler = PaymentReconciler(
                    payments: payments, notifier: notifier, feeBasisPoints: try settings.platformFeeBasisPoints(), interval: .seconds(reconcileInterval),
                    logger: logger)
                services += [razorpay, reconciler] as [any Service]
            }
            if let metricsPort {
                services.append(MetricsEndpoint.application(registry: registry, host: metricsHost, port: metricsPort, logger: logger))
            }
            // The worker before the consumer: on shutdown the consumer stops first and the worker settles what is in flight.
            services += [worker, consumer] as [any Service]
            logger.info(
                "worker starting",
                metadata: [
                    "queue": "\(queue.name)", "strategy": "\(strategy.rawValue)", "prefetch": "\(prefetch)", "concurrency": "\(concurrency)",
                ])
            if try settings.choice("WARM_POOLS", default: "on", choices: ["on", "off"]) == "on" {
                // Open before the first job: a sale's first bookings otherwise wait for connections opened on cores
                // the sale fills (measured: 4 PostgreSQL and 4 Redis connections opened by two workers in its first 300 ms).
                async let database = postgres.warm()
                async let cache = redis.warm()
                let opened = await (database, cache)
                logger.info("connection pools opened", metadata: ["postgres": "\(opened.0)", "redis": "\(opened.1)"])
            }
            let group = ServiceGroup(
                configuration: .init(
                    services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }

    /// Publishes synthetic booking jobs (for the drain benchmark): round-robin over the given events.
    struct PublishTestJobs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "publish-test-jobs", abstract: "Publish N synthetic booking jobs to BOOKING_QUEUE (benchmarks).")

        @Option(help: "How many jobs.") var jobs = 20_000
        @Option(help: "The user the jobs book for.") var user: String
        @Option(parsing: .upToNextOption, help: "Event ids, used round-robin.") var events: [String]
        @Option(help: "Tickets per job.") var tickets = 1

        mutating func run() async throws {
            let settings = Settings(ProcessInfo.processInfo.environment)
            guard let user = UUID(uuidString: user) else { throw ValidationError("--user must be a UUID") }
            let eventIDs = try events.map { text -> UUID in
                guard let id = UUID(uuidString: text) else { throw ValidationError("--events must be UUIDs") }
                return id
            }
            guard !eventIDs.isEmpty, jobs > 0, jobs <= 1_000_000 else { throw ValidationError("need at least one event and 1…1000000 jobs") }
            let queue = AMQPQueue(name: settings.bookingQueueName())
            let publisher = AMQPPublisher(configuration: try AMQPConfiguration(url: try settings.required("AMQP_URL")), queue: queue)
            let total = jobs
            let count = tickets
            try await withThrowingTaskGroup(of: Void.self) { group in
                // At most 2,000 publishes waiting for confirms at once.
                for index in 0..<total {
                    if index >= 2_000 { try await group.next() }
                    group.addTask {
                        let job = BookingJob(
                            booking_id: UUID(), event_id: eventIDs[index % eventIDs.count], user_id: user,
                            ticket_count: count, idempotency_key: nil, requested_at: Date())
                        try await publisher.publish(AMQPMessage(id: job.booking_id.lowercasedText, body: try job.encoded()))
                    }
                }
                try await group.waitForAll()
            }
            await publisher.shutdown()
            print("published \(total) jobs to \(queue.name)")
        }
    }

    /// Verifies that PostgreSQL answers and declares the durable booking queue (`BOOKING_QUEUE`) and its dead-letter queue.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check PostgreSQL and declare the booking queue (BOOKING_QUEUE) and its dead-letter queue.")

        mutating func run() async throws {
            let settings = Settings(ProcessInfo.processInfo.environment)
            let endpoints = try ServiceEndpoints(settings)
            let postgres = PostgresClient(configuration: .init(url: endpoints.databaseURL, poolSize: 1))
            let queue = AMQPQueue(name: settings.bookingQueueName())
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

    /// One reconcile pass (what the running worker does every `--reconcile-interval` seconds), then exit.
    struct Reconcile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Resume unfinished event cancellations, issue owed refunds, update pending ones, settle paid orders and send or follow up payouts, once; print what was done."
        )

        @Option(help: "Only rows untouched for at least this many seconds (0: everything open).")
        var minimumAge = 10

        mutating func run() async throws {
            let settings = Settings(ProcessInfo.processInfo.environment)
            let endpoints = try ServiceEndpoints(settings)
            var logger = Logger(label: "happening.worker.reconcile")
            logger.logLevel = try settings.logLevel()
            let postgres = PostgresClient(configuration: .init(url: endpoints.databaseURL, poolSize: 2), logger: logger)
            let razorpay = RazorpayClient(configuration: try RazorpayConfiguration(settings), logger: logger)
            let payments = PaymentService(ledger: PaymentLedger(postgres: postgres), gateway: razorpay, logger: logger)
            // Tickets an event cancellation gives back are published as the running worker's are.
            let redis = RedisClient(configuration: try RedisConfiguration(url: endpoints.redisURL, commandTimeout: .milliseconds(500)), logger: logger)
            let reconciler = PaymentReconciler(
                payments: payments, notifier: try WorkerCommand.availabilityNotifier(settings, postgres: postgres, redis: redis),
                feeBasisPoints: try settings.platformFeeBasisPoints(), logger: logger)
            let outcome: Result<PaymentReconciler.Report, any Error>
            do { outcome = .success(try await reconciler.pass(minimumAge: .seconds(minimumAge))) } catch { outcome = .failure(error) }
            await razorpay.shutdown()
            await redis.shutdown()
            await postgres.shutdown()
            let report = try outcome.get()
            print(
                "event cancellations resumed: \(report.eventCancellationsResumed), refunds issued: \(report.payments.refundsIssued), "
                    + "refunds updated: \(report.payments.refundsUpdated), paid orders settled: \(report.payments.capturesFound), "
                    + "payouts sent: \(report.payoutsSent), payouts updated: \(report.payoutsUpdated), failures: \(report.payments.failures)")
            if report.payments.failures > 0 { throw ExitCode(1) }
        }
    }
}

extension WorkerCommand {
    /// Publishes tickets left to the servers' Redis (`CACHE_PREFIX`, `AVAILABILITY_TTL`) after each change commits.
    static func availabilityNotifier(_ settings: Settings, postgres: PostgresClient, redis: RedisClient) throws -> AvailabilityNotifier {
        AvailabilityNotifier(
            store: AvailabilityStore(
                postgres: postgres, redis: redis, keys: TicketsLeftKeys(prefix: settings.string("CACHE_PREFIX", default: "")),
                ttl: try settings.integer("AVAILABILITY_TTL", default: AvailabilityStore.defaultTTL, range: 1...86_400)))
    }
}

/// `--strategy for-update|conditional-update|batch|unsafe`: ArgumentParser checks the value and lists the choices.
extension BookingStrategy: ExpressibleByArgument {}
