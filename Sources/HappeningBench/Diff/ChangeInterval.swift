import Foundation

/// One measured second of one run: a value (requests in that second, or that second's p99) and its weight in a
/// mean (1 for counts, the second's requests for latencies).
struct SecondSample: Sendable, Equatable {
    var value: Double
    var weight: Double

    /// The weighted mean of every sample (nil when there is no weight): one run's figure.
    static func mean(_ samples: [SecondSample]) -> Double? {
        var (sum, weight) = (0.0, 0.0)
        for sample in samples {
            sum += sample.value * sample.weight
            weight += sample.weight
        }
        return weight > 0 ? sum / weight : nil
    }
}

/// The relative change of a figure from a base to a new measurement, with a confidence interval.
package struct RelativeChange: Codable, Sendable, Equatable {
    /// new / base − 1 of the sides' geometric means.
    package var change: Double
    package var lower: Double
    package var upper: Double
}

/// One side of a comparison: its runs' figures in logs (a change is then a ratio, and a slowdown of ×2 weighs as
/// much as a speed-up of ×½), and the spread of one run's figure with the degrees of freedom it was estimated with.
struct ComparedSide: Sendable, Equatable {
    var meanLog: Double
    var runs: Int
    /// The variance of one run's log figure: from the side's own runs, or (one run) from a calibration.
    var variance: Double
    var degreesOfFreedom: Double

    /// A side from its runs' figures: with two or more, their own spread; with one, `calibrated` (how far runs of one
    /// build landed from each other on this machine), else nil — one run says nothing about how far the next would
    /// land. A calibrated spread is taken at its upper 95 % bound (a calibration of few runs may have caught a quiet
    /// spell), and widened by as much as this run's seconds spread more than the calibration's did (`within`, the
    /// variance of the run's figure from its own seconds): a busier machine moves whole runs more, too. `resolution` is
    /// the figures' relative precision (a histogram's bucket width): runs in the same bucket agree only to within it, so
    /// the variance is at least that of a uniform error of that width and identical figures never give a zero-width
    /// interval.
    init?(figures: [Double], within: [Double] = [], calibrated: CalibratedSpread? = nil, resolution: Double = 0) {
        guard !figures.isEmpty, figures.allSatisfy({ $0 > 0 }) else { return nil }
        let logs = figures.map(log)
        meanLog = logs.reduce(0, +) / Double(logs.count)
        runs = logs.count
        let floor = resolution * resolution / 12
        if logs.count >= 2 {
            let mean = meanLog
            variance = max(floor, logs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(logs.count - 1))
            degreesOfFreedom = Double(logs.count - 1)
        } else if let calibrated, calibrated.runs >= 2 {
            let busier = calibrated.within.flatMap { cal in within.first.map { cal > 0 ? max(1, $0 / cal) : 1 } } ?? 1
            variance = max(floor, calibrated.upperVariance * busier)
            degreesOfFreedom = Double(calibrated.runs - 1)
        } else {
            return nil
        }
    }
}

/// How far one run's figure of a line lands from the next on this machine (a calibration's line).
struct CalibratedSpread: Sendable, Equatable {
    /// The variance of one run's log figure over the calibration's runs.
    var variance: Double
    var runs: Int
    /// The mean variance of a run's figure from its own seconds, in the calibration.
    var within: Double?

    /// The upper one-sided 95 % bound of `variance` (chi-square with runs − 1 degrees of freedom, by Wilson and
    /// Hilferty's cube-root approximation).
    var upperVariance: Double {
        let k = Double(max(1, runs - 1))
        let lowQuantile = k * pow(1 - 2 / (9 * k) - 1.645 * (2 / (9 * k)).squareRoot(), 3)
        return variance * k / max(lowQuantile, 1e-9)
    }
}

/// Welch's interval for the ratio of two sides' geometric means, with Welch–Satterthwaite degrees of freedom (each
/// side's variance counted with its own: a calibrated side with the calibration's runs).
enum ChangeInterval {
    static func change(base: ComparedSide, new: ComparedSide, confidence: Double) -> RelativeChange {
        let (seA, seB) = (base.variance / Double(base.runs), new.variance / Double(new.runs))
        let difference = new.meanLog - base.meanLog
        let standardError = (seA + seB).squareRoot()
        guard standardError > 0 else { return RelativeChange(change: exp(difference) - 1, lower: exp(difference) - 1, upper: exp(difference) - 1) }
        let df = (seA + seB) * (seA + seB) / (seA * seA / base.degreesOfFreedom + seB * seB / new.degreesOfFreedom)
        let t = StudentT.quantile(0.5 + confidence / 2, degreesOfFreedom: max(1, df))
        return RelativeChange(change: exp(difference) - 1, lower: exp(difference - t * standardError) - 1, upper: exp(difference + t * standardError) - 1)
    }
}
