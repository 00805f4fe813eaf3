import Foundation
import Testing

@testable import Bench

/// The interval `diff` rests on: it covers zero when two samples come from the same distribution, excludes it
/// around a real shift, widens when runs disagree, and is the same every time for the same data (seeded).
@Suite("Bench: bootstrap intervals", .timeLimit(.minutes(10)))
struct BootstrapTests {
    /// `count` seconds of a noisy level: `level` × (1 ± up to `spread`), from a fixed generator.
    private func seconds(_ count: Int, level: Double, spread: Double, seed: UInt64) -> [SecondSample] {
        var random = FastRandom(seed: seed)
        return (0..<count).map { _ in SecondSample(value: level * (1 + spread * (random.unit() * 2 - 1)), weight: 1) }
    }

    @Test("same level: the interval covers zero; a 20 % shift: it excludes zero and holds the shift")
    func coverage() throws {
        let bootstrap = Bootstrap()
        let same = try #require(bootstrap.change(base: [seconds(30, level: 100, spread: 0.1, seed: 1)], new: [seconds(30, level: 100, spread: 0.1, seed: 2)]))
        #expect(same.lower < 0 && same.upper > 0, "\(same)")
        let shifted = try #require(
            bootstrap.change(base: [seconds(30, level: 100, spread: 0.1, seed: 3)], new: [seconds(30, level: 120, spread: 0.1, seed: 4)]))
        #expect(shifted.lower > 0.1 && shifted.upper < 0.3 && shifted.lower < shifted.change && shifted.change < shifted.upper, "\(shifted)")
    }

    @Test("runs that disagree widen the interval: run-to-run noise counts, not only the seconds inside each run")
    func runsWiden() throws {
        let bootstrap = Bootstrap()
        let steadyRuns = [seconds(20, level: 100, spread: 0.05, seed: 5), seconds(20, level: 100, spread: 0.05, seed: 6)]
        let disagreeing = [seconds(20, level: 90, spread: 0.05, seed: 7), seconds(20, level: 110, spread: 0.05, seed: 8)]
        let narrow = try #require(bootstrap.change(base: steadyRuns, new: [seconds(20, level: 100, spread: 0.05, seed: 9)]))
        let wide = try #require(bootstrap.change(base: disagreeing, new: [seconds(20, level: 100, spread: 0.05, seed: 9)]))
        #expect(wide.upper - wide.lower > 2 * (narrow.upper - narrow.lower), "narrow \(narrow), wide \(wide)")
    }

    @Test("weights: a latency mean is weighted by each second's requests; the same data give the same interval")
    func weightsAndSeed() throws {
        #expect(Bootstrap.mean([[SecondSample(value: 10, weight: 3), SecondSample(value: 20, weight: 1)]]) == 12.5)
        #expect(Bootstrap.mean([[]]) == nil)
        let a = [seconds(15, level: 50, spread: 0.2, seed: 10)]
        let b = [seconds(15, level: 55, spread: 0.2, seed: 11)]
        #expect(Bootstrap().change(base: a, new: b) == Bootstrap().change(base: a, new: b))
        #expect(Bootstrap().change(base: [[SecondSample(value: 0, weight: 1)]], new: b) == nil, "a zero base has no relative change")
    }

    @Test("percentages parse for --noise and --fail-on-regression; nonsense is refused")
    func percentages() throws {
        #expect(try BenchCommand.Diff.fraction("5%", option: "--x") == 0.05)
        #expect(try BenchCommand.Diff.fraction("0.03", option: "--x") == 0.03)
        #expect(throws: (any Error).self) { try BenchCommand.Diff.fraction("five", option: "--x") }
        #expect(throws: (any Error).self) { try BenchCommand.Diff.fraction("-1%", option: "--x") }
    }
}

/// The t quantiles the Welch interval uses, against the published table, and the interval itself.
@Suite("Bench: Welch intervals", .timeLimit(.minutes(10)))
struct WelchIntervalTests {
    @Test("t quantiles match the table (two-sided 95 %: 12.706, 4.303, 2.228, 1.962)")
    func quantiles() {
        for (df, expected) in [(1.0, 12.706), (2.0, 4.303), (10.0, 2.228), (1000.0, 1.962)] {
            #expect(abs(StudentT.quantile(0.975, degreesOfFreedom: df) - expected) < 0.001, "df \(df)")
        }
        #expect(abs(StudentT.cdf(0, degreesOfFreedom: 3) - 0.5) < 1e-12)
    }

    @Test("runs that agree: a narrow interval around the ratio; runs that disagree: wide enough to cover zero")
    func interval() throws {
        let tight = try #require(WelchInterval.change(base: [100, 101, 99], new: [120, 121, 119]))
        #expect(abs(tight.change - 0.2) < 0.001 && tight.lower > 0.15 && tight.upper < 0.25, "\(tight)")
        let noisy = try #require(WelchInterval.change(base: [80, 120], new: [90, 125]))
        #expect(noisy.lower < 0 && noisy.upper > 0, "\(noisy)")
        #expect(WelchInterval.change(base: [100], new: [100, 101]) == nil, "one run gives no variance")
    }
}
