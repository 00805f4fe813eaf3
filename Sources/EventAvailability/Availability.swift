import Foundation

/// An event's tickets left, stamped with the row's `availability_version`.
///
/// PostgreSQL raises `events.availability_version` in the same statement that changes `available_tickets`
/// (a `BEFORE UPDATE` trigger, under the row's lock), so for one event a higher version is always the later
/// commit. That is what lets several processes publish the value to Redis in any order: a store never
/// replaces a newer version (``AvailabilityStore``).
public struct Availability: Sendable, Equatable {
    /// Tickets left.
    public var available: Int
    /// The row's `availability_version` when `available` was read.
    public var version: Int64

    public init(available: Int, version: Int64) {
        self.available = available
        self.version = version
    }

    /// The Redis value: `<version>:<available>`.
    public var encoded: String { "\(version):\(available)" }

    /// Parses ``encoded``; nil for anything else.
    public init?(encoded: some Collection<UInt8>) {
        guard let colon = encoded.firstIndex(of: UInt8(ascii: ":")),
            let version = Int64(String(decoding: encoded[..<colon], as: UTF8.self)),
            let available = Int(String(decoding: encoded[encoded.index(after: colon)...], as: UTF8.self))
        else { return nil }
        self.init(available: available, version: version)
    }
}
