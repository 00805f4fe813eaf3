import Foundation
import HappeningLoad
import Histogram
import Synchronization

/// Ties the loops' monotonic clock to wall-clock time for one phase.
struct PhaseClock: Sendable {
    let monotonicStart: UInt64
    let wallStartMicros: Int64

    init(monotonicStart: UInt64) {
        let elapsed = Int64(bitPattern: monotonicNanoseconds() &- monotonicStart) / 1_000
        self.init(monotonicStart: monotonicStart, wallStartMicros: Int64(Date().timeIntervalSince1970 * 1_000_000) - elapsed)
    }

    /// A clock whose wall start is given (results built in tests: reading both clocks now differs by how long the
    /// thread waited between the two readings).
    init(monotonicStart: UInt64, wallStartMicros: Int64) {
        self.monotonicStart = monotonicStart
        self.wallStartMicros = wallStartMicros
    }

    func wallMicros(_ monotonic: UInt64) -> Int64 { wallStartMicros + Int64(bitPattern: monotonic &- monotonicStart) / 1_000 }
}
