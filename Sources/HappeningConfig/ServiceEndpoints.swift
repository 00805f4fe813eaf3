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

/// Names shared by the server (publisher) and the worker (consumer); ``Settings/bookingQueueName()`` reads the one in use.
public enum BookingQueueNames {
    /// The durable queue booking jobs travel on by default (its dead letters go to `booking_jobs.dlq`).
    public static let jobs = "booking_jobs"
}
