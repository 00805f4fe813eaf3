import Foundation

/// Student's t distribution: the quantile a Welch interval needs, for any (non-integer) degrees of freedom.
/// The CDF is the regularized incomplete beta function (continued fraction, modified Lentz), the quantile a
/// bisection on it: exact to 1e-9, no table.
enum StudentT {
    /// The t value below which a fraction `p` (0.5 < p < 1) of the distribution with `df` degrees of freedom lies.
    static func quantile(_ p: Double, degreesOfFreedom df: Double) -> Double {
        precondition(p > 0.5 && p < 1 && df > 0)
        var (low, high) = (0.0, 1.0)
        while cdf(high, degreesOfFreedom: df) < p { high *= 2 }
        for _ in 0..<200 where high - low > 1e-9 {
            let middle = (low + high) / 2
            if cdf(middle, degreesOfFreedom: df) < p { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }

    /// P(T ≤ t).
    static func cdf(_ t: Double, degreesOfFreedom df: Double) -> Double {
        let tail = 0.5 * regularizedBeta(df / (df + t * t), a: df / 2, b: 0.5)
        return t >= 0 ? 1 - tail : tail
    }

    /// I_x(a, b).
    static func regularizedBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logGammas: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let logPowers: Double = a * log(x) + b * log(1 - x)
        let front = exp(logGammas + logPowers)
        // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
        if x < (a + 1) / (a + b + 2) { return front * continuedFraction(x, a: a, b: b) / a }
        return 1 - front * continuedFraction(1 - x, a: b, b: a) / b
    }

    private static func continuedFraction(_ x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        d = 1 / (abs(d) < tiny ? tiny : d)
        var result = d
        for m in 1...300 {
            let m = Double(m)
            let even: Double = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            let odd: Double = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            for numerator in [even, odd] {
                d = 1 + numerator * d
                d = 1 / (abs(d) < tiny ? tiny : d)
                c = 1 + numerator / c
                if abs(c) < tiny { c = tiny }
                result *= d * c
            }
            if abs(d * c - 1) < 1e-15 { break }
        }
        return result
    }
}

/// Welch's interval for the ratio of two sides' geometric means: the runs' figures in logs, so a change is a ratio
/// and a slowdown of ×2 weighs as much as a speed-up of ×½.
enum WelchInterval {
    /// The change new / base − 1 with its `confidence` interval; nil with fewer than two runs a side or a value ≤ 0.
    /// `resolution` is the values' relative precision (a histogram's bucket width): runs that fall into the same
    /// bucket agree only to within it, so each side's variance is at least that of a uniform error of that width,
    /// and identical figures never give a zero-width interval.
    static func change(base: [Double], new: [Double], confidence: Double = 0.95, resolution: Double = 0) -> RelativeChange? {
        guard base.count >= 2, new.count >= 2, (base + new).allSatisfy({ $0 > 0 }) else { return nil }
        let (a, b) = (base.map(log), new.map(log))
        func meanAndVariance(_ values: [Double]) -> (Double, Double) {
            let mean = values.reduce(0, +) / Double(values.count)
            return (mean, values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1))
        }
        let ((meanA, rawA), (meanB, rawB)) = (meanAndVariance(a), meanAndVariance(b))
        let floor = resolution * resolution / 12
        let (varA, varB) = (max(rawA, floor), max(rawB, floor))
        let (seA, seB) = (varA / Double(a.count), varB / Double(b.count))
        let difference = meanB - meanA
        let standardError = (seA + seB).squareRoot()
        guard standardError > 0 else { return RelativeChange(change: exp(difference) - 1, lower: exp(difference) - 1, upper: exp(difference) - 1) }
        let df = (seA + seB) * (seA + seB) / (seA * seA / Double(a.count - 1) + seB * seB / Double(b.count - 1))
        let t = StudentT.quantile(0.5 + confidence / 2, degreesOfFreedom: max(1, df))
        return RelativeChange(change: exp(difference) - 1, lower: exp(difference - t * standardError) - 1, upper: exp(difference + t * standardError) - 1)
    }
}
