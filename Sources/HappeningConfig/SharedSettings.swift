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

    /// `MAX_TICKETS_PER_USER_PER_EVENT` (default 10; 0 = no cap): the most tickets of one event one account may hold,
    /// pending and confirmed together. The worker enforces it in the booking's transaction; the server's admission
    /// gate keeps one account's undecided requests under it, so a few accounts cannot fill a sale's queue.
    public func ticketsPerUserPerEvent() throws -> Int {
        try integer("MAX_TICKETS_PER_USER_PER_EVENT", default: 10, range: 0...100_000)
    }
}
