import Foundation
import Testing

@testable import HappeningBench

/// The latency histogram: exact merging (what `happening-bench merge` relies on), its compact serialisation,
/// percentiles of known data, clamping, and the empty case.
@Suite("Bench: latency histogram", .timeLimit(.minutes(10)))
struct LatencyHistogramTests {
    // Moved unchanged from BenchTests/MeasurementTests.swift (it needs no server).
    @Test("merging two halves gives exactly the histogram of the whole")
    func mergeIsExact() throws {
        var random = FastRandom(seed: 42)
        var whole = LatencyHistogram()
        var first = LatencyHistogram()
        var second = LatencyHistogram()
        for index in 0..<200_000 {
            let micros = 50 + random.next() % 2_000_000
            whole.record(microseconds: micros)
            if index % 3 == 0 { first.record(microseconds: micros) } else { second.record(microseconds: micros) }
        }
        var merged = LatencyHistogram(first.encoded)  // through the JSON form, as `merge` does
        merged.add(LatencyHistogram(second.encoded))
        #expect(merged.encoded == whole.encoded)
        #expect(merged.summary == whole.summary)
        #expect(merged.count == 200_000)
    }

    @Test("merging many parts: counts add, and every percentile equals the single histogram's")
    func mergeMany() {
        var random = FastRandom(seed: 7)
        var whole = LatencyHistogram()
        var parts = Array(repeating: LatencyHistogram(), count: 5)
        var counts = Array(repeating: UInt64(0), count: 5)
        for _ in 0..<50_000 {
            let micros = 1 + random.next() % 30_000_000  // up to 30 s, across many magnitudes
            let part = Int(random.next() % 5)
            whole.record(microseconds: micros)
            parts[part].record(microseconds: micros)
            counts[part] += 1
        }
        var merged = LatencyHistogram()
        for part in parts { merged.add(part) }
        #expect(merged.count == counts.reduce(0, +))
        #expect(parts.map(\.count) == counts)
        for percentile in [0.0, 1, 25, 50, 75, 90, 99, 99.9, 99.99, 100] {
            #expect(merged.percentile(percentile) == whole.percentile(percentile), "p\(percentile)")
        }
        #expect(merged.min == whole.min && merged.max == whole.max)
        #expect(merged.curve == whole.curve)
    }

    @Test("known values: 1…1000 µs once each (exact below 2048 µs at three digits)")
    func knownPercentiles() {
        var histogram = LatencyHistogram()
        for micros in UInt64(1)...1_000 { histogram.record(microseconds: micros) }
        let summary = histogram.summary
        #expect(summary == LatencySummary(count: 1_000, min: 1, mean: 500.5, p50: 500, p90: 900, p99: 990, p999: 999, p9999: 1_000, max: 1_000))
        #expect(histogram.percentile(0) == 1 && histogram.percentile(100) == 1_000)
        #expect(histogram.curve.count == 14 && histogram.curve.first == CurvePoint(percentile: 0, micros: 1))
    }

    @Test("the encoded form: ascending buckets as (increase over the previous value, count) pairs")
    func encodedForm() throws {
        var histogram = LatencyHistogram()
        histogram.record(microseconds: 100, count: 2)
        histogram.record(microseconds: 1_000)
        histogram.record(microseconds: 250)
        let encoded = histogram.encoded
        #expect(encoded == EncodedHistogram(unit: "us", significant_digits: 3, highest_trackable: 60_000_000, total: 4, buckets: [100, 2, 150, 1, 750, 1]))
        let json = try JSONEncoder().encode(encoded)
        let decoded = try JSONDecoder().decode(EncodedHistogram.self, from: json)
        #expect(decoded == encoded)
        #expect(LatencyHistogram(decoded).summary == histogram.summary)
    }

    @Test("a round trip through the encoded form is exact for values across the whole range")
    func roundTrip() {
        var random = FastRandom(seed: 99)
        var histogram = LatencyHistogram()
        for _ in 0..<20_000 { histogram.record(microseconds: 1 + random.next() % 60_000_000) }
        let copy = LatencyHistogram(histogram.encoded)
        #expect(copy.encoded == histogram.encoded)
        #expect(copy.count == 20_000)
        #expect(copy.min == histogram.min && copy.max == histogram.max && copy.mean == histogram.mean)
        // The encoded form keeps each bucket's top value, not the exact largest value recorded, which HdrHistogram
        // clamps percentiles to: a percentile in the top bucket may read up to one bucket width (0.1 %) higher.
        for percentile in [1.0, 10, 50, 90, 99, 99.9, 99.99] {
            let (original, decoded) = (Double(histogram.percentile(percentile)), Double(copy.percentile(percentile)))
            #expect(decoded >= original && decoded <= original * 1.001, "p\(percentile): \(original) → \(decoded)")
        }
        #expect(LatencyHistogram(copy.encoded).summary == copy.summary, "once in the encoded form, round trips are exact")
    }

    @Test("values are clamped to 1 µs … 60 s; nanoseconds are recorded as whole µs; large values keep 3 digits")
    func clamping() {
        var histogram = LatencyHistogram()
        histogram.record(microseconds: 0)
        histogram.record(nanoseconds: 999)
        #expect(histogram.count == 2 && histogram.max == 1 && histogram.min == 1)

        var nanos = LatencyHistogram()
        nanos.record(nanoseconds: 1_500_999)
        #expect(nanos.max == 1_500)

        var huge = LatencyHistogram()
        huge.record(microseconds: 600_000_000)
        #expect(huge.count == 1)
        #expect(huge.max >= 60_000_000 && huge.max <= 60_060_000, "recorded as 60 s: \(huge.max)")

        var precise = LatencyHistogram()
        precise.record(microseconds: 1_234_567)
        #expect(abs(Double(precise.percentile(50)) - 1_234_567) / 1_234_567 < 0.001, "\(precise.percentile(50))")
    }

    @Test("an empty histogram reports zeros, an empty curve and no buckets; merging it changes nothing")
    func empty() {
        let empty = LatencyHistogram()
        #expect(empty.summary == LatencySummary(count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, p9999: 0, max: 0))
        #expect(empty.curve.isEmpty)
        #expect(empty.encoded.buckets.isEmpty && empty.encoded.total == 0)
        var some = LatencyHistogram()
        some.record(microseconds: 42, count: 3)
        let before = some.encoded
        some.add(empty)
        #expect(some.encoded == before)
        #expect(
            LatencyHistogram(EncodedHistogram(unit: "us", significant_digits: 3, highest_trackable: 60_000_000, total: 0, buckets: [5])).count == 0,
            "an odd trailing number is ignored")
    }
}
