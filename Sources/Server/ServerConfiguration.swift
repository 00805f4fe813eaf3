import EventAvailability
import Foundation
import HappeningConfig
import HappeningPostgres
import HappeningSystem
import Logging
import Payments
import Razorpay

/// The server's settings, from environment variables (docs/configuration.md lists them all).
struct ServerConfiguration: Sendable {
    /// `HOST` (default 127.0.0.1).
    var host: String
    /// `PORT` (default 5000).
    var port: Int
    /// `DATABASE_URL`, `REDIS_URL`, `AMQP_URL` (required).
    var endpoints: ServiceEndpoints
    /// `DEV_MODE=1`: a development stack. Allows what must never reach production: a generated `JWT_SECRET`,
    /// simulated payments (no Razorpay keys: the offline gateway's published secrets) and accounts with the published
    /// development password (``HappeningAuth/DevCredentials``). Without it the server refuses each at start.
    var devMode: Bool
    /// `JWT_SECRET` (required, at least 32 characters, unless `DEV_MODE=1` generates one).
    var jwtSecret: String
    /// True when the secret was generated because of `DEV_MODE=1`.
    var jwtSecretGenerated: Bool
    /// `JWT_TTL` in seconds (default 86400).
    var jwtTTL: Duration
    /// `BCRYPT_COST` (default 10; 4 to 15).
    var bcryptCost: Int
    /// `DB_POOL_SIZE` (default 10).
    var databasePoolSize: Int
    /// `WARM_POOLS` (on): open every PostgreSQL and Redis connection the pools may hold before serving, not when a
    /// burst first needs them (``HappeningPool/ConnectionPool/warm(upTo:)``).
    var warmPools: Bool
    /// `DB_STATEMENT_TIMEOUT_MS` (default 5000): PostgreSQL's `statement_timeout` on the server's connections, so a
    /// few expensive public queries cannot hold the pool while sign-ins, payments and webhooks wait (503 past it).
    var statementTimeout: Duration
    /// `CACHE` on|off (default on).
    var cacheEnabled: Bool
    /// `CACHE_TTL_SECONDS` (default 300).
    var cacheTTL: Int
    /// `NEAR_CACHE_ENTRIES` (default 50000; 0 turns the in-process copies off): hot cache entries kept in memory,
    /// invalidated by Redis (see ``NearCache``); each event's tickets left is one entry too.
    var nearCacheEntries: Int
    /// `NEAR_CACHE_MB` (default 256): the most bytes of cached bodies held in process; `NEAR_CACHE_MAX_ENTRY_KB`
    /// (default 256): a larger body is served from Redis and never held (distinct big pages cannot fill the memory).
    var nearCacheBytes: Int
    var nearCacheMaximumEntryBytes: Int
    /// `AVAILABILITY_TTL` (default 30 s): how long a published tickets-left value lives in Redis, the bound on
    /// its age when the process that changed it died before publishing it (``AvailabilityStore``).
    var availabilityTTL: Int
    /// `EVENT_LOOPS` (default: the CPUs this process may run on): NIO event loops, which also run Swift concurrency.
    var eventLoops: Int
    /// `REDIS_TIMEOUT_MS` (default 300): connect, command and checkout limit for Redis; past it reads use PostgreSQL.
    var redisTimeout: Duration
    /// `ADMISSION_REDIS_TIMEOUT_MS` (default 2000): command and checkout limit for the admission gate's Redis calls;
    /// past it (or when Redis refuses connections) intake skips the gate and publishes for the worker to decide.
    var admissionRedisTimeout: Duration
    /// `LISTEN_BACKLOG` (default 4096; the kernel caps it at `net.core.somaxconn`): connections the kernel queues
    /// before they are accepted, so a flash sale's connect storm is not dropped at the door (Hummingbird's default
    /// is 256). The open-file limit is raised to 16 × this at start (as far as the process may).
    var listenBacklog: Int
    /// `IDLE_TIMEOUT_SECONDS` (default 60, like nginx's header timeout): a connection with no request in progress, or
    /// whose request stopped arriving, is closed after this long. A barrier's connections wait for their firing
    /// instant, so a fleet that connects minutes early raises it (the k8s ConfigMap does).
    var idleTimeout: Duration
    /// `METRICS_PORT` (default unset: `/metrics` is served on the API's port): a port of its own for `/metrics`, on
    /// `METRICS_HOST` (default 127.0.0.1), so the public port does not expose the server's internals.
    var metricsPort: Int?
    var metricsHost: String
    /// `CACHE_PREFIX` (default empty): prepended to every cache key, for servers sharing one Redis.
    var cachePrefix: String
    /// `ADMIN_EMAIL` + `ADMIN_PASSWORD`: an admin created or updated at start-up (both or neither).
    var admin: (email: String, password: String)?
    /// `LOGIN_MAX_FAILURES` per account (whatever the address) and `LOGIN_MAX_FAILURES_PER_IP` per client address,
    /// per 15 minutes (5 and 50): attempts counted before the password is checked, successes given back.
    var loginMaxFailures: (perAccount: Int, perIP: Int)
    /// `REGISTRATIONS_PER_IP_PER_HOUR` (default 20): accounts one client address may register per hour.
    var registrationsPerHour: Int
    /// `TRUSTED_PROXIES` (default none): comma-separated addresses of reverse proxies whose `X-Forwarded-For` names
    /// the client for rate limits (``ClientAddress``); without it every client behind a proxy shares its address.
    var trustedProxies: Set<String>
    /// `BCRYPT_QUEUE_LIMIT` (default 64): password hashes waiting or running at once; past it logins and registrations
    /// are refused with 503 and `Retry-After` instead of queueing without bound.
    var bcryptQueueLimit: Int
    /// `AMQP_CONFIRM_TIMEOUT_MS` (default 10000): how long intake waits for the broker's confirm; past it the answer is
    /// 503 `queue_unconfirmed` naming the booking (the job may be queued all the same).
    var queueConfirmTimeout: Duration
    /// `BOOKING_QUEUE` (default booking_jobs; its dead-letter queue is `<name>.dlq`).
    var bookingQueue: String
    /// Razorpay (`RAZORPAY_*`; with no keys, the offline gateway and simulated payments).
    var razorpay: RazorpayConfiguration
    /// `PAYMENT_ORDER_TTL_MINUTES` (default 30): how long a booking's order is handed out again before a new one is made.
    var paymentOrderTTL: Duration
    /// `PLATFORM_FEE_PERCENT` (default 10; up to two decimals), in basis points.
    var platformFeeBasisPoints: Int64
    /// `PAYOUT_SETTLEMENT_HOURS` (default 48; 0 to 2160): how long after an event's date its host may be paid out
    /// (disputes and late webhooks land first; a host can no longer cancel a started event).
    var payoutSettlementDelay: Duration
    /// `BOOKING_RATE_LIMIT_PER_MINUTE` (default 30; 0 = no limit): booking requests one user may send per minute, a
    /// fixed one-minute window counted in Redis by the admission script (so every server shares it); over it the
    /// answer is 429 with `Retry-After`. With Redis down requests are allowed: a cache outage must not stop sales.
    var bookingRateLimit: Int
    /// `MAX_TICKETS_PER_USER_PER_EVENT` (default 10; 0 = no cap): see ``HappeningConfig/Settings/ticketsPerUserPerEvent()``.
    var ticketsPerUserPerEvent: Int
    /// `ADMISSION_LEASE_SECONDS` (default 15): how long an admitted booking's tickets stay claimed at the admission
    /// gate unless its worker releases them (``AdmissionGate``): the longest the gate can stay shut on free tickets
    /// when a worker dies between its commit and its release.
    var admissionLease: Duration
    /// `ADMISSION_GATE` (default `on`; `off`): whether intake refuses at the gate once admitted demand covers the
    /// tickets left, or queues every valid request for the worker to decide (to measure a strategy's own race).
    var admissionGate: Bool
    /// `INTAKE_THREADS` (default: half the cores, at least 1; 0 = none): threads of its own for
    /// `POST /api/bookings` (a ``DedicatedTaskExecutor``), so a flash sale's burst of bookings queues there and the
    /// reads keep their place on the shared pool.
    var intakeThreads: Int
    /// `ACCEPTS_PER_WAKEUP` (64): connections the listener accepts each time it wakes (NIO's default is 4).
    var acceptsPerWakeup: Int
    /// `INTAKE_DECISIONS_PER_LOOP` (256): bookings one event loop has the intake decide at once; more wait their turn on
    /// the loop, where the sold-out memory may refuse them when it comes (``IntakeTurns``). 64 made a sale that admits
    /// every buyer slower (5,000 of 5,000 admitted: intake p99 0.78–1.03 s against 0.59–0.68 s unbounded or at 256).
    var intakeDecisionsPerLoop: Int
    /// `PG_PREPARED_STATEMENTS` (256; 0 = none): statements with parameters each database connection keeps prepared
    /// (parsed once, then only bound and run).
    var preparedStatements: Int
    /// `INLINE_ANSWERS` (on): answer what memory holds on the event loop (``InlineRoutes``); off sends every
    /// request through the router.
    var inlineAnswers: Bool
    /// The `Server` header of every answer.
    static let serverName = "happening"
    /// `INTAKE_NICENESS` (default 10; 0 to 19): the `nice` value of those threads, so reads win a contended core
    /// and bookings take what is left (on an idle machine they get every core they can use). Reads stay fast
    /// through a sale; the sale's own answers come later (measured in results/20261203T054740Z-intake-executor.md).
    var intakeNiceness: Int
    /// `LOG_LEVEL` (default info).
    var logLevel: Logger.Level
    /// `MUTATION`: faults built in on purpose, for the tests that show the Bench's checks catch them (never in production).
    var mutations: Set<Mutation>

    init(_ settings: Settings) throws {
        host = settings.string("HOST", default: "127.0.0.1")
        port = try settings.integer("PORT", default: 5000, range: 0...65535)
        endpoints = try ServiceEndpoints(settings)
        devMode = ["1", "true"].contains(try settings.choice("DEV_MODE", default: "0", choices: ["0", "1", "false", "true"]))
        if let secret = settings.optional("JWT_SECRET") {
            guard secret.count >= 32 else { throw Settings.Invalid(name: "JWT_SECRET", problem: "must be at least 32 characters") }
            jwtSecret = secret
            jwtSecretGenerated = false
        } else if devMode {
            jwtSecret = (0..<4).map { _ in UUID().uuidString }.joined()
            jwtSecretGenerated = true
        } else {
            throw Settings.Invalid(name: "JWT_SECRET", problem: "is required (or set DEV_MODE=1 to generate a throw-away one)")
        }
        jwtTTL = .seconds(try settings.integer("JWT_TTL", default: 86_400, range: 60...2_592_000))
        bcryptCost = try settings.integer("BCRYPT_COST", default: 10, range: 4...15)
        databasePoolSize = try settings.integer("DB_POOL_SIZE", default: 10, range: 1...500)
        warmPools = try settings.choice("WARM_POOLS", default: "on", choices: ["on", "off"]) == "on"
        statementTimeout = .milliseconds(try settings.integer("DB_STATEMENT_TIMEOUT_MS", default: 5_000, range: 100...600_000))
        cacheEnabled = try settings.choice("CACHE", default: "on", choices: ["on", "off"]) == "on"
        cacheTTL = try settings.integer("CACHE_TTL_SECONDS", default: 300, range: 1...86_400)
        cachePrefix = settings.string("CACHE_PREFIX", default: "")
        metricsPort = try settings.optional("METRICS_PORT").map { _ in try settings.integer("METRICS_PORT", default: 0, range: 1...65_535) }
        metricsHost = settings.string("METRICS_HOST", default: "127.0.0.1")
        nearCacheEntries = try settings.integer("NEAR_CACHE_ENTRIES", default: 50_000, range: 0...10_000_000)
        nearCacheBytes = (try settings.integer("NEAR_CACHE_MB", default: 256, range: 1...1_048_576)) << 20
        nearCacheMaximumEntryBytes = (try settings.integer("NEAR_CACHE_MAX_ENTRY_KB", default: 256, range: 1...1_048_576)) << 10
        availabilityTTL = try settings.integer("AVAILABILITY_TTL", default: AvailabilityStore.defaultTTL, range: 1...86_400)
        eventLoops = try settings.integer(
            "EVENT_LOOPS", default: CPUAffinity.allowedCount() ?? ProcessInfo.processInfo.activeProcessorCount, range: 1...1024)
        redisTimeout = .milliseconds(try settings.integer("REDIS_TIMEOUT_MS", default: 300, range: 10...60_000))
        idleTimeout = .seconds(try settings.integer("IDLE_TIMEOUT_SECONDS", default: 60, range: 1...86_400))
        listenBacklog = try settings.integer("LISTEN_BACKLOG", default: 4_096, range: 16...65_535)
        admissionRedisTimeout = .milliseconds(try settings.integer("ADMISSION_REDIS_TIMEOUT_MS", default: 2_000, range: 10...60_000))
        switch (settings.optional("ADMIN_EMAIL"), settings.optional("ADMIN_PASSWORD")) {
        case (let email?, let password?):
            guard password.utf8.count >= 8 else { throw Settings.Invalid(name: "ADMIN_PASSWORD", problem: "must be at least 8 characters") }
            admin = (email.lowercased(), password)
        case (nil, nil): admin = nil
        case (nil, _?): throw Settings.Invalid(name: "ADMIN_EMAIL", problem: "must be set together with ADMIN_PASSWORD")
        case (_?, nil): throw Settings.Invalid(name: "ADMIN_PASSWORD", problem: "must be set together with ADMIN_EMAIL")
        }
        loginMaxFailures = (
            try settings.integer("LOGIN_MAX_FAILURES", default: 5, range: 1...1_000_000),
            try settings.integer("LOGIN_MAX_FAILURES_PER_IP", default: 50, range: 1...1_000_000)
        )
        registrationsPerHour = try settings.integer("REGISTRATIONS_PER_IP_PER_HOUR", default: 20, range: 1...1_000_000)
        trustedProxies = Set(settings.string("TRUSTED_PROXIES", default: "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        bcryptQueueLimit = try settings.integer("BCRYPT_QUEUE_LIMIT", default: 64, range: 1...100_000)
        queueConfirmTimeout = .milliseconds(try settings.integer("AMQP_CONFIRM_TIMEOUT_MS", default: 10_000, range: 1...600_000))
        bookingQueue = settings.bookingQueueName()
        razorpay = try RazorpayConfiguration(settings)
        if razorpay.isSimulated, !devMode {
            throw Settings.Invalid(
                name: "RAZORPAY_KEY_ID",
                problem:
                    "is required: without Razorpay keys payments are simulated and webhooks are checked with a published secret (set DEV_MODE=1 for a development stack)"
            )
        }
        bookingRateLimit = try settings.integer("BOOKING_RATE_LIMIT_PER_MINUTE", default: 30, range: 0...1_000_000)
        ticketsPerUserPerEvent = try settings.ticketsPerUserPerEvent()
        admissionGate = try settings.choice("ADMISSION_GATE", default: "on", choices: ["on", "off"]) == "on"
        admissionLease = .seconds(try settings.integer("ADMISSION_LEASE_SECONDS", default: 15, range: 1...3_600))
        acceptsPerWakeup = try settings.integer("ACCEPTS_PER_WAKEUP", default: 64, range: 1...4_096)
        intakeDecisionsPerLoop = try settings.integer("INTAKE_DECISIONS_PER_LOOP", default: 256, range: 1...100_000)
        preparedStatements = try settings.integer("PG_PREPARED_STATEMENTS", default: 256, range: 0...10_000)
        inlineAnswers = try settings.choice("INLINE_ANSWERS", default: "on", choices: ["on", "off"]) == "on"
        intakeThreads = try settings.integer("INTAKE_THREADS", default: max(1, ProcessInfo.processInfo.activeProcessorCount / 2), range: 0...64)
        intakeNiceness = try settings.integer("INTAKE_NICENESS", default: 10, range: 0...19)
        platformFeeBasisPoints = try settings.platformFeeBasisPoints()
        payoutSettlementDelay = .seconds(3600 * (try settings.integer("PAYOUT_SETTLEMENT_HOURS", default: 48, range: 0...2_160)))
        paymentOrderTTL = .seconds(60 * (try settings.integer("PAYMENT_ORDER_TTL_MINUTES", default: 30, range: 1...10_080)))
        logLevel = try settings.logLevel()
        mutations = try Mutation.active(settings)
        if mutations.contains(.admissionLeaseOutlivesSale) { admissionLease = .seconds(3_600) }
    }
}
