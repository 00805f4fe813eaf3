import Foundation
import HappeningSystem

/// A SplitMix64 generator: tiny, fast, statistically fine for synthetic data, and above all *seekable*.
///
/// Every generated row gets its own generator derived from `(seed, stream, index)`, so row `i` of a table is
/// a pure function of the seed: the data is the same however it is batched, interrupted or parallelised.
struct SeedRandom: RandomNumberGenerator, UnitRandom {
    private var state: UInt64

    /// The tables (and other independent sequences) that draw numbers.
    enum Stream: UInt64 {
        case user = 1
        case event = 2
        case booking = 3
        case benchUser = 4
        case admin = 5
        case bankAccount = 6
        case payment = 7
    }

    init(seed: UInt64, stream: Stream, index: Int) {
        state = Self.mix(seed &+ Self.mix(stream.rawValue &* 0x9E37_79B9_7F4A_7C15) &+ UInt64(index) &* 0xD1B5_4A32_D192_ED03)
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound` (bound > 0).
    mutating func below(_ bound: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Uniform in `range`.
    mutating func within(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.count)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// A standard normal deviate (Box–Muller).
    mutating func gaussian() -> Double {
        let u1 = max(unit(), 1e-12)
        let u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// A random (version 4 layout) UUID drawn from this generator.
    mutating func uuid() -> UUID {
        let high = next()
        let low = next()
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            bytes[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i)))
            bytes[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i)))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }

    /// An element of a non-empty array.
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// Lowercase hex of `count` random bytes (for gateway-style ids).
    mutating func hex(bytes count: Int) -> String {
        var text = ""
        let digits = Array("0123456789abcdef")
        for _ in 0..<count {
            let byte = Int(next() & 0xFF)
            text.append(digits[byte >> 4])
            text.append(digits[byte & 0xF])
        }
        return text
    }
}
