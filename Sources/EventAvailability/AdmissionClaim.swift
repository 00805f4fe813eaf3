import Foundation

/// A booking admitted at intake and not decided yet: until it is released, its tickets count against the event's
/// admission gate (the server's `AdmissionGate`), so the gate answers "sold out" once admitted demand covers
/// the tickets left.
///
/// Whoever decides the booking releases the claim after the commit, in the same Redis script that publishes
/// the event's new tickets left (``AvailabilityStore/store(_:releasing:)``), so the gate never sees the
/// decision twice or not at all. A claim nobody releases (its decider died) lapses with its lease.
public struct AdmissionClaim: Sendable, Hashable {
    /// The event whose tickets the booking claims.
    public var event: UUID
    /// The booking (its job's id).
    public var booking: UUID

    public init(event: UUID, booking: UUID) {
        self.event = event
        self.booking = booking
    }

    /// Lua that releases claims in Redis: `KEYS` are (leases, claims) pairs from `firstKey`, `ARGV` the booking ids from
    /// `firstArgument`. A claim already released or lapsed is skipped, so a redelivered job releases nothing twice.
    public static func releaseLua(firstKey: String, firstArgument: String) -> String {
        """
        local k, a = \(firstKey), \(firstArgument)
        while KEYS[k] do
            local tickets = redis.call('HGET', KEYS[k + 1], ARGV[a])
            if tickets then
                redis.call('HDEL', KEYS[k + 1], ARGV[a])
                redis.call('HINCRBY', KEYS[k + 1], 'total', -tonumber(tickets))
            end
            redis.call('ZREM', KEYS[k], ARGV[a])
            k, a = k + 2, a + 1
        end
        """
    }
}
