import EventAvailability
import HappeningAMQP
import HappeningAuth
import HappeningConfig
import HappeningGeo
import HappeningModel
import HappeningPool
import HappeningPostgres
import HappeningRedis
import HappeningSystem
import Hummingbird
import Logging
import NIOCore
import Payments
import Prometheus
import Razorpay

/// Everything the routes depend on, built once from the configuration.
struct AppDependencies: Sendable {
    let postgres: PostgresClient
    let redis: RedisClient
    /// The admission gate's own pool: intake waits longer for Redis than reads do (a late gate answer beats
    /// queueing a request the gate would refuse), and a flash sale's intake cannot starve the read cache's pool.
    let admissionRedis: RedisClient
    let bookingJobs: AMQPPublisher
    let hasher: PasswordHasher
    let tokens: TokenService
    let users: UserRepository
    let metrics: PrometheusCollectorRegistry
    /// Requests per (route, method, status) and each stage's time: counted by the router's middleware and by the
    /// answers given on the event loop alike.
    let requestMetrics: RequestMetrics
    let stageTimers: StageTimers
    let authLimiter: AuthRateLimiter
    let events: EventRepository
    let cache: ReadCache
    /// The cache's in-process copies, and what keeps them coherent; nil when they are off.
    let near: NearCaches?
    let invalidations: RedisInvalidationListener?
    /// Publishes tickets left after this server changes them; retries while Redis is away (a service).
    let availabilityNotifier: AvailabilityNotifier
    /// Tickets left as served (nil when the cache is off: answers come from PostgreSQL).
    let availability: AvailabilityCache?
    let gazetteer: Gazetteer
    let openAPI: OpenAPIDocument
    let bookings: BookingRepository
    let intake: BookingIntake
    /// Threads of its own for the booking intake (nil when `INTAKE_THREADS=0`): a sale's burst queues there.
    let intakeExecutor: DedicatedTaskExecutor?
    /// The admission gate's thread (nil when `INTAKE_THREADS=0`): sends the gate's pipelines and hands out their
    /// replies, never queued behind the intake's burst.
    let admissionExecutor: DedicatedTaskExecutor?
    /// Each event loop's bookings being decided by the intake, and those waiting their turn (told when the gate finds
    /// an event sold out).
    let intakeTurns: IntakeTurnsByLoop
    let hosts: HostRepository
    let payments: PaymentService
    let cancellations: CancellationService
    let payouts: PayoutService
    /// Who a request is from, for rate limits (`TRUSTED_PROXIES`).
    let clientAddress: ClientAddress

    init(_ configuration: ServerConfiguration, metrics: PrometheusCollectorRegistry, logger: Logger) async throws {
        postgres = PostgresClient(
            configuration: .init(
                url: configuration.endpoints.databaseURL, poolSize: configuration.databasePoolSize, statementTimeout: configuration.statementTimeout,
                preparedStatements: configuration.preparedStatements),
            logger: logger)
        // Short Redis timeouts: a slow cache must not slow reads down; they fall back to PostgreSQL.
        redis = RedisClient(
            configuration: try RedisConfiguration(
                url: configuration.endpoints.redisURL, poolSize: 16, connectTimeout: configuration.redisTimeout,
                commandTimeout: configuration.redisTimeout, checkoutTimeout: configuration.redisTimeout),
            logger: logger)
        admissionRedis = RedisClient(
            configuration: try RedisConfiguration(
                url: configuration.endpoints.redisURL, poolSize: 8, connectTimeout: configuration.redisTimeout,
                commandTimeout: configuration.admissionRedisTimeout, checkoutTimeout: configuration.admissionRedisTimeout),
            logger: logger)
        bookingJobs = AMQPPublisher(
            configuration: try AMQPConfiguration(url: configuration.endpoints.amqpURL, confirmTimeout: configuration.queueConfirmTimeout),
            queue: AMQPQueue(name: configuration.bookingQueue),
            logger: logger)
        hasher = PasswordHasher(cost: configuration.bcryptCost, queueLimit: configuration.bcryptQueueLimit)
        tokens = TokenService(secret: configuration.jwtSecret, ttl: configuration.jwtTTL)
        users = UserRepository(postgres: postgres)
        self.metrics = metrics
        requestMetrics = RequestMetrics(factory: PrometheusMetricsFactory(registry: metrics))
        stageTimers = StageTimers(factory: PrometheusMetricsFactory(registry: metrics))
        authLimiter = AuthRateLimiter(
            redis: redis, prefix: configuration.cachePrefix, perAccount: configuration.loginMaxFailures.perAccount,
            perIP: configuration.loginMaxFailures.perIP, registrationsPerHour: configuration.registrationsPerHour)
        let keys = TicketsLeftKeys(prefix: configuration.cachePrefix)
        let store = AvailabilityStore(postgres: postgres, redis: redis, keys: keys, ttl: configuration.availabilityTTL)
        // Published even with the cache off here: other servers sharing the Redis may have it on.
        availabilityNotifier = AvailabilityNotifier(store: store)
        let ticketsLeft = TicketsLeft(postgres: postgres, notifier: availabilityNotifier)
        events = EventRepository(postgres: postgres, ticketsLeft: ticketsLeft)
        if configuration.cacheEnabled, configuration.nearCacheEntries > 0 {
            let near = NearCaches(
                capacity: configuration.nearCacheEntries, ttl: .seconds(configuration.cacheTTL), byteBudget: configuration.nearCacheBytes,
                maximumBodyBytes: configuration.nearCacheMaximumEntryBytes, keys: keys,
                soldOutForgets: !configuration.mutations.contains(.soldOutMemoryNeverForgets))
            self.near = near
            invalidations = RedisInvalidationListener(
                configuration: try RedisConfiguration(url: configuration.endpoints.redisURL, connectTimeout: configuration.redisTimeout),
                prefixes: [keys.cache.trackingPrefix], logger: logger, handler: near.apply)
        } else {
            near = nil
            invalidations = nil
        }
        availability = configuration.cacheEnabled ? AvailabilityCache(store: store, near: near?.tickets) : nil
        cache = ReadCache(
            redis: redis, enabled: configuration.cacheEnabled, ttl: configuration.cacheTTL, prefix: configuration.cachePrefix, near: near,
            availability: availability, frozenTicketsLeft: configuration.mutations.contains(.frozenTicketsLeft))
        gazetteer = Gazetteer()
        clientAddress = ClientAddress(trustedProxies: configuration.trustedProxies)
        openAPI = try OpenAPIDocument.bundled()
        bookings = BookingRepository(postgres: postgres, ticketsLeft: ticketsLeft)
        hosts = HostRepository(postgres: postgres)
        payments = PaymentService(
            ledger: PaymentLedger(postgres: postgres), gateway: RazorpayClient(configuration: configuration.razorpay, logger: logger),
            orderTTL: configuration.paymentOrderTTL, logger: logger)
        cancellations = CancellationService(payments: payments, notifier: availabilityNotifier, logger: logger)
        payouts = PayoutService(
            postgres: postgres, gateway: payments.gateway, feeBasisPoints: configuration.platformFeeBasisPoints,
            settlementDelay: configuration.payoutSettlementDelay, logger: logger)
        let turns = IntakeTurnsByLoop(limitPerLoop: configuration.intakeDecisionsPerLoop)
        intakeTurns = turns
        let admissions = configuration.intakeThreads > 0 ? DedicatedTaskExecutor(name: "admission", threads: 1) : nil
        admissionExecutor = admissions
        intake = BookingIntake(
            jobs: bookingJobs,
            gate: AdmissionGate(
                redis: admissionRedis, keys: keys, perMinute: configuration.bookingRateLimit, perUserLimit: configuration.ticketsPerUserPerEvent,
                enabled: configuration.admissionGate,
                leaseDuration: configuration.admissionLease, soldOut: near?.soldOut, heardSoldOut: { turns.soldOut() },
                executor: admissions),
            availabilityStore: store)
        intakeExecutor =
            configuration.intakeThreads > 0
            ? DedicatedTaskExecutor(name: "intake", threads: configuration.intakeThreads, niceness: Int32(configuration.intakeNiceness)) : nil
    }
}

/// The Prometheus exposition of the server's registry; the pools' gauges are read at scrape time.
func metricsResponse(_ deps: AppDependencies) -> Response {
    let metrics = deps.metrics
    for (name, stats) in [("postgres", deps.postgres.statistics), ("redis", deps.redis.statistics), ("redis_admission", deps.admissionRedis.statistics)] {
        metrics.makeGauge(name: "happening_pool_open_connections", labels: [("pool", name)]).set(Double(stats.open))
        metrics.makeGauge(name: "happening_pool_waiting", labels: [("pool", name)]).set(Double(stats.waiting))
        metrics.makeGauge(name: "happening_pool_waits_total", labels: [("pool", name)]).set(Double(stats.totalWaits))
        metrics.makeGauge(name: "happening_pool_checkout_timeouts_total", labels: [("pool", name)]).set(Double(stats.checkoutTimeouts))
    }
    // The process's user + system CPU, so a load generator can report what a request cost (Prometheus's own name).
    metrics.makeGauge(name: "process_cpu_seconds_total").set(ProcessCPU.seconds())
    var buffer = [UInt8]()
    metrics.emit(into: &buffer)
    return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
}

/// `/metrics` alone on a listener of its own (`METRICS_PORT`), off the API's public port.
func metricsApplication(_ deps: AppDependencies, host: String, port: Int, logger: Logger) -> some ApplicationProtocol {
    let router = Router()
    router.get("metrics") { _, _ in metricsResponse(deps) }
    return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "happening-metrics"), logger: logger)
}

/// Every route of the API, under one router; `/metrics` too unless it has a listener of its own.
func buildRouter(_ deps: AppDependencies, serveMetrics: Bool = true) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    // Metrics outside the error mapping: they count the status the client got (a refused request is a 4xx, not
    // the 500 an unmapped thrown error would be).
    router.add(middleware: RequestMetricsMiddleware(metrics: deps.requestMetrics))
    router.add(middleware: ServerTimingMiddleware(timers: deps.stageTimers))
    let routeMethods = RouteMethods()
    router.add(middleware: ErrorMiddleware(routeMethods: routeMethods))
    router.add(middleware: LogRequestsMiddleware(.debug))

    let api = router.group("api")
    api.addRoutes(HealthController(postgres: deps.postgres, redis: deps.redis, bookingJobs: deps.bookingJobs).endpoints, atPath: "health")
    let auth = AuthController(
        users: deps.users, hasher: deps.hasher, tokens: deps.tokens, rateLimiter: deps.authLimiter, clientAddress: deps.clientAddress)
    auth.addRoutes(to: api.group("auth"))
    let signedIn = api.group().add(middleware: RequireUserMiddleware(tokens: deps.tokens, users: deps.users))
    signedIn.get("profile", use: auth.profile)
    EventsController(events: deps.events, cache: deps.cache, gazetteer: deps.gazetteer, cancellations: deps.cancellations)
        .addRoutes(to: signedIn.group("events"))
    PublicEventsController(events: deps.events, cache: deps.cache, gazetteer: deps.gazetteer).addRoutes(to: api.group("events"))
    var tokenOnly = api.group()
    if let executor = deps.intakeExecutor { tokenOnly = tokenOnly.add(middleware: ExecutorPreferenceMiddleware(executor: executor)) }
    tokenOnly = tokenOnly.add(middleware: RequireUserMiddleware(tokens: deps.tokens, users: deps.users, identity: .token))
    BookingsController(intake: deps.intake, bookings: deps.bookings, events: deps.events, cache: deps.cache)
        .addRoutes(to: signedIn.group("bookings"), intake: tokenOnly.group("bookings"))
    HostsController(hosts: deps.hosts).addRoutes(to: signedIn.group("hosts"))
    PayoutsController(payouts: deps.payouts, payoutRows: PayoutRepository(postgres: deps.postgres)).addRoutes(to: signedIn.group("hosts"))
    AnalyticsController(analytics: AnalyticsRepository(postgres: deps.postgres)).addRoutes(to: signedIn.group("analytics"))
    PaymentsController(payments: deps.payments)
        .addRoutes(signedIn: signedIn.group("payments"), public: api.group("payments"))
    CancellationsController(cancellations: deps.cancellations, bookings: deps.bookings, cache: deps.cache)
        .addRoutes(to: signedIn.group("cancellations"))
    signedIn.get("locations/autocomplete", use: LocationsController(gazetteer: deps.gazetteer).autocomplete)

    if serveMetrics { router.get("metrics") { _, _ in metricsResponse(deps) } }
    let openAPI = deps.openAPI
    router.get("openapi.yaml") { _, _ in openAPI.response() }
    routeMethods.record(router.routes.map { ($0.path.description, $0.method.rawValue) })
    return router
}

/// Wires clients, routes and services into the application.
func buildApplication(_ configuration: ServerConfiguration, metrics: PrometheusCollectorRegistry) async throws -> some ApplicationProtocol {
    var logger = Logger(label: "happening.server")
    logger.logLevel = configuration.logLevel
    if configuration.razorpay.isSimulated {
        logger.info(
            "no Razorpay keys configured: payments are simulated by the offline gateway",
            metadata: ["gateway": "\(configuration.razorpay.baseURL)"])
    }
    if configuration.jwtSecretGenerated {
        logger.warning("DEV_MODE: generated a throw-away JWT secret; tokens will not survive a restart")
    }
    for mutation in configuration.mutations.sorted(by: { $0.rawValue < $1.rawValue }) {
        logger.error("MUTATION \(mutation.rawValue) is active: this server is broken on purpose (a test of the Bench's checks)")
    }
    return buildApplication(configuration, deps: try await AppDependencies(configuration, metrics: metrics, logger: logger), logger: logger)
}

/// What the inline answers need (``InlineRoutes``).
func inlineRoutes(_ deps: AppDependencies, logger: Logger) -> InlineRoutes {
    InlineRoutes(
        cache: deps.cache, bookings: BookingsController(intake: deps.intake, bookings: deps.bookings, events: deps.events, cache: deps.cache),
        tokens: deps.tokens, gazetteer: deps.gazetteer, intakeExecutor: deps.intakeExecutor, metrics: deps.requestMetrics,
        stageTimers: deps.stageTimers, serverName: ServerConfiguration.serverName, factory: PrometheusMetricsFactory(registry: deps.metrics),
        logger: logger)
}

/// Wires already-built dependencies into the application.
func buildApplication(_ configuration: ServerConfiguration, deps: AppDependencies, logger: Logger) -> some ApplicationProtocol {
    // One descriptor per client connection: a 20,000-user barrier is past the usual soft limit.
    let files = OpenFileLimit.raise(toAtLeast: configuration.listenBacklog * 16)
    logger.debug("open-file limit", metadata: ["limit": "\(files)"])
    var app = Application(
        router: buildRouter(deps, serveMetrics: configuration.metricsPort == nil),
        // Idle and half-sent connections are closed (a partial request head, or a body that stopped arriving, counts
        // as idle from its last byte): thousands of them would otherwise hold descriptors libpq, hiredis and curl need.
        // Requests answerable from memory (liveness, a held event, a sold-out refusal) are answered on the event loop
        // (`INLINE_ANSWERS=off` sends every request through the router, for comparison).
        server: configuration.inlineAnswers
            ? InlineHTTP1Channel.builder(
                routes: inlineRoutes(deps, logger: logger), idleTimeout: configuration.idleTimeout, maximumBody: 64 * 1024, turns: deps.intakeTurns)
            : .http1(configuration: .init(idleTimeout: .seconds(Int64(configuration.idleTimeout.components.seconds)))),
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port), serverName: ServerConfiguration.serverName, backlog: configuration.listenBacklog),
        // NIO accepts 4 connections per wake-up of the listener by default: a sale's thousands of new connections
        // then cost a trip through the event loop each few (measured: 87 → 70 µs of CPU per request on a new
        // connection with 64, results/server-vs-nginx.md).
        onServerRunning: { [accepts = UInt(configuration.acceptsPerWakeup)] listener in
            _ = try? await listener.setOption(ChannelOptions.maxMessagesPerRead, value: accepts).get()
        },
        logger: logger)
    // Started before the HTTP server, stopped after it (graceful shutdown runs in reverse order).
    app.addServices(
        deps.postgres, deps.redis, deps.admissionRedis, deps.availabilityNotifier, deps.bookingJobs, deps.hasher, deps.payments.gateway)
    if let invalidations = deps.invalidations { app.addServices(invalidations) }
    if let port = configuration.metricsPort {
        app.addServices(metricsApplication(deps, host: configuration.metricsHost, port: port, logger: logger))
    }
    if let executor = deps.intakeExecutor { app.addServices(executor) }
    if let executor = deps.admissionExecutor { app.addServices(executor) }
    let checks = StartupChecks(users: deps.users, hasher: deps.hasher, devMode: configuration.devMode)
    let admin = configuration.admin
    if configuration.warmPools {
        app.beforeServerStarts { await warmPools(deps, logger: logger) }
    }
    app.beforeServerStarts { try await checks.run(admin: admin, logger: logger) }
    return app
}

/// Opens the database's and Redis's connections before the server serves (`WARM_POOLS`). Measured: a 5,000-user sale
/// into a homepage at 1,000 req/s opened 4 PostgreSQL and 7 Redis connections in its first 300 ms, each a fork and
/// password exchange (PostgreSQL) on cores the sale already filled, while reads waited for them.
private func warmPools(_ deps: AppDependencies, logger: Logger) async {
    async let database = deps.postgres.warm()
    async let cache = deps.redis.warm()
    async let admission = deps.admissionRedis.warm()
    let opened = await (database, cache, admission)
    logger.info("connection pools opened", metadata: ["postgres": "\(opened.0)", "redis": "\(opened.1 + opened.2)"])
}
