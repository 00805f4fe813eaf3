import Foundation

/// The message `POST /api/bookings` publishes to `booking_jobs` and the worker consumes. Its AMQP message
/// id is `booking_id`, which is also the booking row's primary key: a redelivered job is recognised by it.
public struct BookingJob: Codable, Sendable, Equatable {
    public var booking_id: UUID
    public var event_id: UUID
    public var user_id: UUID
    public var ticket_count: Int
    public var idempotency_key: String?
    public var requested_at: Date

    public init(booking_id: UUID, event_id: UUID, user_id: UUID, ticket_count: Int, idempotency_key: String?, requested_at: Date) {
        self.booking_id = booking_id
        self.event_id = event_id
        self.user_id = user_id
        self.ticket_count = ticket_count
        self.idempotency_key = idempotency_key
        self.requested_at = requested_at
    }

    /// Most tickets one booking may take.
    public static let maximumTickets = 10

    /// JSON with ISO 8601 dates and sorted keys.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(self))
    }

    /// Decodes a job; throws for anything malformed.
    public static func decode(_ bytes: [UInt8]) throws -> BookingJob {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(BookingJob.self, from: Data(bytes))
    }
}
