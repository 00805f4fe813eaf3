import Histogram

/// Latencies in microseconds in an HdrHistogram (1 µs … 60 s, 3 significant digits), with a compact,
/// exact serialisation: only non-empty buckets, as `[value, count]` pairs, so results from several
/// processes merge into exactly the histogram one process would have recorded.
struct LatencyHistogram: Sendable {
    private(set) var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: Self.highest, numberOfSignificantValueDigits: .three)

    /// The largest latency tracked (60 s); longer ones are recorded as 60 s.
    static let highest: UInt64 = 60_000_000

    var count: UInt64 { histogram.totalCount }

    mutating func record(nanoseconds: UInt64) {
        _ = histogram.record(Swift.min(Self.highest, Swift.max(1, nanoseconds / 1_000)))
    }

    mutating func record(microseconds: UInt64, count: UInt64 = 1) {
        _ = histogram.record(Swift.min(Self.highest, Swift.max(1, microseconds)), count: count)
    }

    mutating func add(_ other: LatencyHistogram) { histogram.add(other.histogram) }

    /// The value at `percentile` (0…100), in microseconds; 0 when empty.
    func percentile(_ percentile: Double) -> UInt64 { count == 0 ? 0 : histogram.valueAtPercentile(percentile) }

    var max: UInt64 { count == 0 ? 0 : histogram.max }
    var min: UInt64 { count == 0 ? 0 : histogram.min }
    var mean: Double { count == 0 ? 0 : histogram.mean }

    /// The standard summary (µs).
    var summary: LatencySummary {
        LatencySummary(
            count: count, min: min, mean: (mean * 10).rounded() / 10, p50: percentile(50), p90: percentile(90), p99: percentile(99),
            p999: percentile(99.9), p9999: percentile(99.99), max: max)
    }

    /// Points of the percentile curve (percentile, µs) at the percentiles a latency chart shows.
    var curve: [CurvePoint] {
        guard count > 0 else { return [] }
        return [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100].map { CurvePoint(percentile: $0, micros: percentile($0)) }
    }

    // MARK: Serialisation

    var encoded: EncodedHistogram {
        var buckets: [UInt64] = []
        var previous: UInt64 = 0
        for value in histogram.recordedValues() {
            buckets.append(value.value - previous)
            buckets.append(UInt64(value.count))
            previous = value.value
        }
        return EncodedHistogram(unit: "us", significant_digits: 3, highest_trackable: Self.highest, total: count, buckets: buckets)
    }

    init() {}

    init(_ encoded: EncodedHistogram) {
        var value: UInt64 = 0
        var index = 0
        while index + 1 < encoded.buckets.count {
            value += encoded.buckets[index]
            record(microseconds: value, count: encoded.buckets[index + 1])
            index += 2
        }
    }
}

/// The JSON form of a ``LatencyHistogram``.
struct EncodedHistogram: Codable, Sendable, Equatable {
    var unit: String
    var significant_digits: Int
    var highest_trackable: UInt64
    var total: UInt64
    /// Every non-empty bucket, ascending, as a flat list of pairs: the value's increase over the previous
    /// bucket's value (the first: the value itself), then the count. Compact, and exact to merge.
    var buckets: [UInt64]
}

/// Percentiles in microseconds.
struct LatencySummary: Codable, Sendable, Equatable {
    var count: UInt64
    var min: UInt64
    var mean: Double
    var p50: UInt64
    var p90: UInt64
    var p99: UInt64
    var p999: UInt64
    var p9999: UInt64
    var max: UInt64
}

struct CurvePoint: Codable, Sendable, Equatable {
    var percentile: Double
    var micros: UInt64
}
