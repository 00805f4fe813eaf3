/// A generator of uniform doubles in [0, 1), the one thing ``WeightedTable`` asks of its random source.
public protocol UnitRandom {
    /// The next uniform double in [0, 1).
    mutating func unit() -> Double
}

/// Picks indices with given relative weights in O(log n): a binary search over the running totals. The Bench draws
/// request templates and pool values with it, the seeder cities, categories and time slots.
public struct WeightedTable: Sendable {
    private let cumulative: [Double]

    /// `weights`: one non-negative weight per index, at least one.
    public init(weights: [Double]) {
        precondition(!weights.isEmpty && weights.allSatisfy { $0 >= 0 }, "a weighted table needs at least one non-negative weight")
        var total = 0.0
        cumulative = weights.map { weight in
            total += weight
            return total
        }
    }

    /// An index, drawn with probability proportional to its weight (one draw from `random`, however many weights).
    public func pick<Random: UnitRandom>(using random: inout Random) -> Int {
        let target = random.unit() * cumulative[cumulative.count - 1]
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > target { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
