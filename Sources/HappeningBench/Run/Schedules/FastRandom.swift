import HappeningLoad
import HappeningSystem
import Synchronization

/// A small fast generator for picking requests on the hot path (xorshift64*; no allocation).
struct FastRandom: UnitRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
