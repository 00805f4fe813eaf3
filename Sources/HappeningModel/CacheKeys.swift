import Foundation

/// The Redis key names the server's read cache and the worker agree on.
///
/// `event:<id>` holds one event's public JSON; list and search entries live under
/// `events:g<generation>:…`, and bumping `events:generation` retires them all at once (a change of what lists
/// hold: an event created, edited, approved, rejected or cancelled). Tickets left live apart, under the event's
/// namespace (`TicketsLeftKeys` in ``EventAvailability``), so bookings never retire an entry.
public struct CacheKeys: Sendable {
    /// Prepended to every key (`CACHE_PREFIX`; empty by default).
    public let prefix: String

    public init(prefix: String = "") { self.prefix = prefix }

    /// The single-event entry.
    public func event(_ id: UUID) -> String { "\(prefix)event:\(id.lowercasedText)" }
    /// The single-event entry's version: bumped on every change, so a load that raced the change cannot
    /// store its stale result (the store is conditional on the version it started from).
    public func eventVersion(_ id: UUID) -> String { event(id) + ":version" }
    /// The event a key under its `event:<id>` namespace names, when the key is `event:<id>` followed by `tail` (the
    /// tickets-left keys live there, so the same tracking prefix covers them: ``EventAvailability``'s `TicketsLeftKeys`);
    /// nil for any other key.
    public func event(inKey key: String, tail: String) -> UUID? {
        let head = prefix + "event:"
        guard key.utf8.count == head.utf8.count + 36 + tail.utf8.count, key.hasPrefix(head), key.hasSuffix(tail) else { return nil }
        let utf8 = key.utf8
        let start = utf8.index(utf8.startIndex, offsetBy: head.utf8.count)
        return UUID(canonical: utf8[start..<utf8.index(start, offsetBy: 36)])
    }
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
