import HappeningAMQP
import HappeningCore
import HappeningPostgres
import HappeningRedis
import Hummingbird
import Logging

/// The request context every route sees.
typealias AppRequestContext = BasicRequestContext

/// Wires clients, routes and services into the application.
func buildApplication(_ configuration: ServerConfiguration) throws -> some ApplicationProtocol {
    var logger = Logger(label: "happening.server")
    logger.logLevel = configuration.logLevel

    let postgres = PostgresClient(
        configuration: .init(url: configuration.endpoints.databaseURL, poolSize: configuration.databasePoolSize),
        logger: logger)
    let redis = RedisClient(configuration: try RedisConfiguration(url: configuration.endpoints.redisURL), logger: logger)
    let bookingJobs = AMQPPublisher(
        configuration: try AMQPConfiguration(url: configuration.endpoints.amqpURL),
        queue: AMQPQueue(name: BookingQueueNames.jobs, deadLetterQueue: BookingQueueNames.deadLetters),
        logger: logger)

    let router = Router(context: AppRequestContext.self)
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.addRoutes(
        HealthController(postgres: postgres, redis: redis, bookingJobs: bookingJobs).endpoints,
        atPath: "/api/health")

    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "happening"),
        logger: logger)
    // Started before the HTTP server, stopped after it (graceful shutdown runs in reverse order).
    app.addServices(postgres, redis, bookingJobs)
    return app
}
