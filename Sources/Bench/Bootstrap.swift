import Foundation

/// One measured second of one run: a value (requests in that second, or that second's p99) and its weight in a
/// mean (1 for counts, the second's requests for latencies).
struct SecondSample: Sendable, Equatable {
    var value: Double
    var weight: Double
}

/// The relative change of a statistic from a base to a new measurement, with a 95 % confidence interval.
struct RelativeChange: Codable, Sendable, Equatable {
    /// new / base − 1 on all the data.
    var change: Double
    /// The 2.5th and 97.5th percentiles of the change over the resamples.
    var lower: Double
    var upper: Double
}

/// A moving-block bootstrap of the weighted mean over runs × seconds: what `diff` uses when a side has one run.
///
/// The data a single run holds are per-second samples, and seconds are not independent (a pause or a noisy
/// neighbour spans several), so seconds are resampled in blocks of ⌈n^(1/3)⌉ consecutive seconds (Künsch's
/// moving-block bootstrap), which keeps that correlation; given several runs it resamples the runs first (the
/// hierarchical bootstrap). Runs differ from each other by more than their seconds do, and with a handful of runs a
/// bootstrap over them underestimates that, so `diff` gives sides with several runs a Welch interval instead
/// (``WelchInterval``). Seeded: the same two files always give the same interval.
struct Bootstrap: Sendable {
    /// Resamples per interval.
    var resamples = 2_000
    var seed: UInt64 = 0x4841_5050_454E_494E

    /// The weighted mean of every sample of every run (nil when there is no weight).
    static func mean(_ runs: [[SecondSample]]) -> Double? {
        var (sum, weight) = (0.0, 0.0)
        for run in runs {
            for sample in run {
                sum += sample.value * sample.weight
                weight += sample.weight
            }
        }
        return weight > 0 ? sum / weight : nil
    }

    /// The change of the mean from `base` to `new` (runs × seconds each), or nil when either side has no data
    /// or a base of zero.
    func change(base: [[SecondSample]], new: [[SecondSample]]) -> RelativeChange? {
        let base = base.filter { !$0.isEmpty }
        let new = new.filter { !$0.isEmpty }
        guard let baseMean = Self.mean(base), let newMean = Self.mean(new), baseMean > 0 else { return nil }
        var random = FastRandom(seed: seed)
        var changes: [Double] = []
        changes.reserveCapacity(resamples)
        for _ in 0..<resamples {
            guard let b = Self.resampledMean(base, &random), let n = Self.resampledMean(new, &random), b > 0 else { continue }
            changes.append(n / b - 1)
        }
        guard !changes.isEmpty else { return nil }
        changes.sort()
        func quantile(_ q: Double) -> Double { changes[min(changes.count - 1, max(0, Int((Double(changes.count - 1) * q).rounded())))] }
        return RelativeChange(change: newMean / baseMean - 1, lower: quantile(0.025), upper: quantile(0.975))
    }

    /// One resample: runs drawn with replacement, then within each drawn run blocks of consecutive seconds drawn
    /// with replacement until the run's length is reached.
    static func resampledMean(_ runs: [[SecondSample]], _ random: inout FastRandom) -> Double? {
        var (sum, weight) = (0.0, 0.0)
        for _ in runs.indices {
            let run = runs[Int(random.next() % UInt64(runs.count))]
            let length = min(run.count, max(1, Int(pow(Double(run.count), 1.0 / 3.0).rounded(.up))))
            var taken = 0
            while taken < run.count {
                let start = Int(random.next() % UInt64(run.count - length + 1))
                for sample in run[start..<(start + min(length, run.count - taken))] {
                    sum += sample.value * sample.weight
                    weight += sample.weight
                }
                taken += length
            }
        }
        return weight > 0 ? sum / weight : nil
    }
}
