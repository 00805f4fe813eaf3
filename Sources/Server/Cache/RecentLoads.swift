import Synchronization

/// Bodies a ``ReadCache`` miss loaded lately, kept while their store to Redis is under way and for a second after it
/// landed: a caller whose lookup missed because that store had not landed yet takes the body, instead of a second
/// query (or of a second look in Redis before every load, the round trip this replaces). Only for the version the
/// caller's lookup read: a load an edit raced is never handed on.
final class RecentLoads: Sendable {
    private struct Entry {
        let id: UInt64
        let version: String?
        let body: [UInt8]
        /// nil while the store is under way.
        var storedAt: ContinuousClock.Instant?
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var nextID: UInt64 = 0
        /// Entries are pruned when there are more than ``pruneAbove`` and either more than this (twice what the last
        /// pruning kept) or the last pruning was longer ago than ``kept``: one that kept most entries is not repeated
        /// on every load.
        var pruneAt = RecentLoads.pruneAbove
        var lastPruned = ContinuousClock.now
    }

    private let state = Mutex(State())
    /// How long a stored body is kept: a lookup sent before the store landed has its answer long before.
    private static let kept = Duration.seconds(1)
    /// Entries are pruned (stored longer than ``kept`` ago) when there are more than this.
    private static let pruneAbove = 1_024

    /// Keeps `body`, loaded for `key` at `version`, while it is stored; the id ends it (``stored(_:id:)``, ``dropped(_:id:)``).
    func storing(_ key: String, version: String?, body: [UInt8]) -> UInt64 {
        state.withLock { state in
            state.nextID += 1
            let now = ContinuousClock.now
            if state.entries.count > Self.pruneAbove, state.entries.count > state.pruneAt || now - state.lastPruned > Self.kept {
                state.entries = state.entries.filter { $0.value.storedAt.map { $0 >= now - Self.kept } ?? true }
                state.pruneAt = max(Self.pruneAbove, state.entries.count * 2)
                state.lastPruned = now
            }
            state.entries[key] = Entry(id: state.nextID, version: version, body: body, storedAt: nil)
            return state.nextID
        }
    }

    /// The store of load `id` landed now.
    func stored(_ key: String, id: UInt64) {
        state.withLock { state in
            guard state.entries[key]?.id == id else { return }
            state.entries[key]?.storedAt = .now
        }
    }

    /// The store of load `id` was refused (the version moved on) or failed: its body is not handed on.
    func dropped(_ key: String, id: UInt64) {
        state.withLock { state in
            if state.entries[key]?.id == id { state.entries[key] = nil }
        }
    }

    /// The body of a load of `key` at `version` whose store is under way, or landed after `lookedUpAt` (the lookup
    /// that missed it was sent before it landed).
    func body(_ key: String, version: String?, lookedUpAt: ContinuousClock.Instant) -> [UInt8]? {
        state.withLock { state in
            guard let entry = state.entries[key], entry.version == version else { return nil }
            if let storedAt = entry.storedAt, storedAt < lookedUpAt { return nil }
            return entry.body
        }
    }
}
