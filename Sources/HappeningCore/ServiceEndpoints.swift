/// Where the three backing services are, read from `DATABASE_URL`, `REDIS_URL` and `AMQP_URL`
/// (`scripts/services.sh up` writes all three to `.run/env`).
public struct ServiceEndpoints: Sendable {
    /// `postgres://user:password@host:port/database`
    public var databaseURL: String
    /// `redis://host:port`
    public var redisURL: String
    /// `amqp://user:password@host:port/vhost`
    public var amqpURL: String

    /// Reads the three URLs; each is required.
    public init(_ settings: Settings) throws {
        self.databaseURL = try settings.required("DATABASE_URL")
        self.redisURL = try settings.required("REDIS_URL")
        self.amqpURL = try settings.required("AMQP_URL")
    }
}

/// Names shared by the server (publisher) and the worker (consumer).
public enum BookingQueueNames {
    /// The durable queue booking jobs travel on.
    public static let jobs = "booking_jobs"
    /// Where jobs the worker cannot process are parked.
    public static let deadLetters = "booking_jobs.dlq"
}
