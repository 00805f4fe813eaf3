import Foundation
import HappeningModel

/// The Redis keys of the tickets-left protocol, all of them: what the store publishes, what the admission gate reads
/// and claims against, and what tells servers to forget a sold-out answer. `CACHE_PREFIX` first, like every key.
///
/// Tickets left and the reopened counter live under the event's `event:<id>` namespace (``CacheKeys``), so the read
/// cache's tracking prefix covers them and servers hear of every change; the admission keys live outside it, so a
/// sale's claims push no invalidation to anyone.
public struct TicketsLeftKeys: Sendable {
    /// The read cache's keys, whose `event:<id>` namespace the tickets-left keys share.
    public let cache: CacheKeys
    public var prefix: String { cache.prefix }

    public init(prefix: String = "") { self.cache = CacheKeys(prefix: prefix) }

    /// The event's tickets left, `<availability_version>:<available>` (``Availability/encoded``): servers merge it into
    /// cached bodies as they answer, so a booking changes this one key and nothing else.
    public func availability(_ id: UUID) -> String { cache.event(id) + ":available" }
    /// The event whose tickets-left key `key` is (the inverse of ``availability(_:)``); nil for any other key.
    public func availabilityEvent(inKey key: String) -> UUID? { cache.event(inKey: key, tail: ":available") }
    /// Bumped whenever the event's admission gate may let a booking in again: tickets left went up or a claim was
    /// released without them going down (a refused or withdrawn booking, a lapsed lease). A decision that sells what
    /// it claimed leaves it alone, so servers keep refusing a sold-out sale from memory while its buyers' bookings are
    /// decided (their tickets-left key changes with each).
    public func gateReopened(_ id: UUID) -> String { cache.event(id) + ":reopened" }
    /// The event whose ``gateReopened(_:)`` key `key` is; nil for any other key.
    public func reopenedEvent(inKey key: String) -> UUID? { cache.event(inKey: key, tail: ":reopened") }
    /// An event's admission leases (a sorted set: booking id → when the lease lapses, in milliseconds): bookings
    /// admitted at intake and not yet decided.
    public func admissionLeases(_ id: UUID) -> String { "\(prefix)admission:\(id.lowercasedText):leases" }
    /// The tickets each admitted booking claims (a hash, ``AdmissionClaim/claimsLua``) and their sum (field `total`).
    public func admissionClaims(_ id: UUID) -> String { "\(prefix)admission:\(id.lowercasedText):claims" }
    /// A booking admitted and not decided yet: its owner (for the status route), ``AdmissionGate/memory`` long.
    public func queued(_ booking: UUID) -> String { "\(prefix)booking:queued:\(booking.lowercasedText)" }
    /// One user's booking requests in the current minute (the intake's rate limit).
    public func bookingRateLimit(_ user: String) -> String { "\(prefix)ratelimit:booking:\(user)" }
    /// A booking request's `Idempotency-Key` claim (the booking id is derived from the user and the client's key).
    public func idempotency(user: UUID, booking: UUID) -> String { "\(prefix)idem:\(user.lowercasedText):\(booking.lowercasedText)" }
    /// Stands in for the idempotency key of a request that sent none (the admission script's key list is fixed).
    public var noIdempotencyKey: String { "\(prefix)idem:none" }
}
