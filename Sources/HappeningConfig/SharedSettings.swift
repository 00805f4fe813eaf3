import Logging

/// Settings every program reads the same way.
extension Settings {
    /// `LOG_LEVEL`: trace, debug, info (default), notice, warning, error or critical.
    public func logLevel() throws -> Logger.Level {
        let level = try choice("LOG_LEVEL", default: "info", choices: Logger.Level.allCases.map(\.rawValue))
        return Logger.Level(rawValue: level) ?? .info
    }

    /// `BOOKING_QUEUE` (default `booking_jobs`): the queue the server publishes booking jobs to and the workers consume;
    /// its dead-letter queue is `<name>.dlq`.
    public func bookingQueueName() -> String {
        string("BOOKING_QUEUE", default: BookingQueueNames.jobs)
    }
}
