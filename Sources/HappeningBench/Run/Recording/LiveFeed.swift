import Foundation
import HappeningLoad
import Histogram
import Synchronization

/// Per-second buckets shared by a phase's loop threads (each hands over a finished second under the lock).
final class LiveFeed: Sendable {
    private let buckets = Mutex<[Int: SecondBucket]>([:])
    private let totals = Atomic<UInt64>(0)
    private let failures = Atomic<UInt64>(0)
    /// Per loop thread, the second it is recording now: every earlier one is handed over (`Int.max` once it ended).
    private let current = Mutex<[Int]>([])

    /// A new loop thread's index for ``recording(loop:second:)``.
    func register() -> Int {
        current.withLock {
            $0.append(0)
            return $0.count - 1
        }
    }

    /// Loop `loop` has handed over every second before `second`.
    func recording(loop: Int, second: Int) { current.withLock { $0[loop] = second } }

    /// Seconds before this one are final: every loop thread has handed them over.
    var finalBefore: Int { current.withLock { $0.min() ?? 0 } }

    func add(second: Int, _ bucket: SecondBucket) {
        buckets.withLock { $0[second, default: SecondBucket()].add(bucket) }
    }

    func count(requests: UInt64, errors: UInt64) {
        totals.add(requests, ordering: .relaxed)
        failures.add(errors, ordering: .relaxed)
    }

    var requestsSoFar: UInt64 { totals.load(ordering: .relaxed) }
    var errorsSoFar: UInt64 { failures.load(ordering: .relaxed) }

    func bucket(_ second: Int) -> SecondBucket? { buckets.withLock { $0[second] } }

    /// The latest second handed over so far (nil: none yet).
    var lastSecond: Int? { buckets.withLock { $0.keys.max() } }

    /// Every second, in order.
    func timeline() -> [(second: Int, bucket: SecondBucket)] {
        buckets.withLock { $0.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
    }
}
