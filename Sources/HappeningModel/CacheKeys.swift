import Foundation

/// The Redis key names the server's read cache and the worker agree on.
///
/// `event:<id>` holds one event's public JSON; list and search entries live under
/// `events:g<generation>:…`, and bumping `events:generation` retires them all at once (a change of what lists
/// hold: an event created, edited, approved, rejected or cancelled). Tickets left live apart, at
/// `event:<id>:available`, so bookings never retire an entry.
public struct CacheKeys: Sendable {
    /// Prepended to every key (`CACHE_PREFIX`; empty by default).
    public let prefix: String

    public init(prefix: String = "") { self.prefix = prefix }

    /// The single-event entry.
    public func event(_ id: UUID) -> String { "\(prefix)event:\(id.lowercasedText)" }
    /// The single-event entry's version: bumped on every change, so a load that raced the change cannot
    /// store its stale result (the store is conditional on the version it started from).
    public func eventVersion(_ id: UUID) -> String { event(id) + ":version" }
    /// The event's tickets left, `<availability_version>:<available>` (``EventAvailability``'s store): servers
    /// merge it into cached bodies as they answer, so a booking changes this one key and nothing else.
    public func availability(_ id: UUID) -> String { event(id) + ":available" }
    /// The event whose tickets-left key `key` is (the inverse of ``availability(_:)``); nil for any other key.
    public func availabilityEvent(inKey key: String) -> UUID? { event(inKey: key, tail: ":available") }
    /// Bumped whenever the event's admission gate may let a booking in again: tickets left went up or a claim was
    /// released without them going down (a refused or withdrawn booking, a lapsed lease). A decision that sells what
    /// it claimed leaves it alone, so servers keep refusing a sold-out sale from memory while its buyers' bookings are
    /// decided (their tickets-left key changes with each).
    public func gateReopened(_ id: UUID) -> String { event(id) + ":reopened" }
    /// The event whose ``gateReopened(_:)`` key `key` is; nil for any other key.
    public func reopenedEvent(inKey key: String) -> UUID? { event(inKey: key, tail: ":reopened") }

    private func event(inKey key: String, tail: String) -> UUID? {
        let head = prefix + "event:"
        guard key.utf8.count == head.utf8.count + 36 + tail.utf8.count, key.hasPrefix(head), key.hasSuffix(tail) else { return nil }
        let utf8 = key.utf8
        let start = utf8.index(utf8.startIndex, offsetBy: head.utf8.count)
        return UUID(canonical: utf8[start..<utf8.index(start, offsetBy: 36)])
    }
    /// An event's admission leases (a sorted set: booking id → when the lease lapses, in milliseconds): bookings
    /// admitted at intake and not yet decided. Outside the `event` prefix, so Redis pushes no invalidation for them.
    public func admissionLeases(_ id: UUID) -> String { "\(prefix)admission:\(id.lowercasedText):leases" }
    /// The tickets each admitted booking claims (a hash: booking id → tickets) and their sum (field `total`).
    public func admissionClaims(_ id: UUID) -> String { "\(prefix)admission:\(id.lowercasedText):claims" }
    /// The list generation counter.
    public var generation: String { prefix + "events:generation" }
    /// The start of a list entry's key; the generation number and the canonical list key follow.
    public var listPrefix: String { prefix + "events:g" }

    /// The one prefix every cache key starts with (`event:…` and `events:…`), for Redis key tracking.
    public var trackingPrefix: String { prefix + "event" }

    /// The Redis commands (as argv) that forget events after a change of what they show besides tickets left:
    /// for each, bump its version and delete `event:<id>`; then bump the list generation once.
    public func invalidation(for events: some Sequence<UUID>) -> [[String]] {
        var commands: [[String]] = []
        for id in events {
            commands.append(["INCR", eventVersion(id)])
            commands.append(["EXPIRE", eventVersion(id), "86400"])
            commands.append(["DEL", event(id)])
        }
        commands.append(["INCR", generation])
        return commands
    }
}
