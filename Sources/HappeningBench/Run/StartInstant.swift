import Foundation
import HappeningHTTP
import HappeningLoad
import HappeningSystem
import Synchronization

/// `--start-at` on the monotonic clock the load loops keep.
enum StartInstant {
    /// The monotonic instant (ns) of the wall-clock time `wallMicros` (µs since 1970) when it is still ahead, else
    /// `nanoseconds` from now.
    static func monotonic(wallMicros: Int64?, otherwiseIn nanoseconds: UInt64) -> UInt64 {
        if let wallMicros {
            let delta = wallMicros - Int64(Date().timeIntervalSince1970 * 1_000_000)
            if delta > 0 { return monotonicNanoseconds() &+ UInt64(delta) * 1_000 }
        }
        return monotonicNanoseconds() &+ nanoseconds
    }
}
