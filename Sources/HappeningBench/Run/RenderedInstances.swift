import Foundation
import HappeningHTTP
import HappeningLoad
import HappeningSystem
import Synchronization

/// Rendered request instances by templates, loop and users (``PhaseRunner/prepare(_:users:)``).
final class RenderedInstances: Sendable {
    struct Key: Hashable, Sendable {
        var chosen: [Int]
        var lane: Int
        var users: Range<Int>?
    }

    private let store = Mutex([Key: [[PreparedRequest]]]())

    func get(_ key: Key) -> [[PreparedRequest]]? { store.withLock { $0[key] } }
    func put(_ key: Key, _ value: [[PreparedRequest]]) { store.withLock { $0[key] = value } }
}
