import Foundation

/// The Redis key names the server's read cache and the worker agree on.
///
/// `event:<id>` holds one event's public JSON; list and search entries live under
/// `events:g<generation>:…`, and bumping `events:generation` retires them all at once.
public struct CacheKeys: Sendable {
    /// Prepended to every key (`CACHE_PREFIX`; empty by default).
    public let prefix: String

    public init(prefix: String = "") { self.prefix = prefix }

    /// The single-event entry.
    public func event(_ id: UUID) -> String { "\(prefix)event:\(id.uuidString.lowercased())" }
    /// The list generation counter.
    public var generation: String { prefix + "events:generation" }
    /// The start of a list entry's key; the generation number and the canonical list key follow.
    public var listPrefix: String { prefix + "events:g" }
}
