import Foundation
import HappeningSystem

/// What `diff` compares on each line, and which way is better.
enum DiffMetric: String, Codable, Sendable, CaseIterable {
    case requestsPerSecond = "req/s"
    case p50
    case p99
    /// The ledger's decided bookings per second (one figure per run: needs several runs a side).
    case decidedPerSecond = "decided/s"

    var higherIsBetter: Bool { self == .requestsPerSecond || self == .decidedPerSecond }
}

/// A line's verdict.
enum DiffVerdict: String, Codable, Sendable {
    case improved
    case unchanged = "no significant change"
    case regressed
    /// Fewer than three seconds a side (or, for a per-run figure, fewer than two runs): no interval.
    case inconclusive = "too few samples"
}

/// One compared figure: where (phase or window, lane, route), both sides' values, the change with its 95 %
/// interval and the verdict.
struct DiffLine: Codable, Sendable {
    var phase: String
    var lane: String?
    /// nil: the whole phase.
    var route: String?
    var metric: DiffMetric
    /// The mean the interval is about: requests per second; or the request-weighted mean of each second's p50 or
    /// p99 (µs); or decided bookings per second.
    var base: Double?
    var new: Double?
    var change: RelativeChange?
    var verdict: DiffVerdict
    /// Seconds (or runs, for decided/s) behind each side.
    var base_samples: Int
    var new_samples: Int

    var place: String { [lane.map { "lane \($0)" }, phase, route].compactMap { $0 }.joined(separator: " / ") }

    /// How far the interval goes the bad way at its nearest: a regression beyond this is certain at 95 %.
    var certainRegression: Double? {
        guard let change, verdict == .regressed else { return nil }
        return metric.higherIsBetter ? -change.upper : change.lower
    }
}

/// `happening-bench diff BASE.json NEW.json`: every phase, lane and route the two results share, compared with
/// ``Bootstrap`` intervals.
struct RunDiff: Codable, Sendable {
    var base: String
    var new: String
    var scenario: String
    var base_runs: Int
    var new_runs: Int
    /// Changes inside ±noise are never called improved or regressed, however certain.
    var noise: Double
    var fail_on_regression: Double?
    var method: String
    var lines: [DiffLine]

    /// Lines whose regression is certainly beyond `--fail-on-regression`.
    var failures: [DiffLine] {
        guard let tolerance = fail_on_regression else { return [] }
        return lines.filter { ($0.certainRegression ?? 0) > tolerance }
    }

    static func compare(base: BenchResult, new: BenchResult, names: (String, String), noise: Double, failOnRegression: Double?) throws -> RunDiff {
        for (result, name) in [(base, names.0), (new, names.1)] where Set(result.runs.map(\.target)).count > 1 {
            throw UsageError("\(name) holds runs against several targets (a compare): diff compares repeats of one target")
        }
        let bootstrap = Bootstrap()
        var lines: [DiffLine] = []
        for key in DiffSamples.keys(base.runs).filter(Set(DiffSamples.keys(new.runs)).contains) {
            for metric in [DiffMetric.requestsPerSecond, .p50, .p99] {
                let a = DiffSamples.seconds(base.runs, key, metric)
                let b = DiffSamples.seconds(new.runs, key, metric)
                lines.append(line(key, metric, a, b, bootstrap: bootstrap, noise: noise, enough: 3))
            }
        }
        let decidedA = base.runs.compactMap { $0.ledger?.decided_per_second }.map { [SecondSample(value: $0, weight: 1)] }
        let decidedB = new.runs.compactMap { $0.ledger?.decided_per_second }.map { [SecondSample(value: $0, weight: 1)] }
        if !decidedA.isEmpty, !decidedB.isEmpty {
            lines.append(
                line(.init(phase: "ledger", lane: nil, route: nil), .decidedPerSecond, decidedA, decidedB, bootstrap: bootstrap, noise: noise, enough: 2))
        }
        return RunDiff(
            base: names.0, new: names.1, scenario: new.scenario, base_runs: base.runs.count, new_runs: new.runs.count, noise: noise,
            fail_on_regression: failOnRegression, method: Self.method(baseRuns: base.runs.count, newRuns: new.runs.count), lines: lines)
    }

    private static func line(
        _ key: DiffSamples.Key, _ metric: DiffMetric, _ a: [[SecondSample]], _ b: [[SecondSample]], bootstrap: Bootstrap, noise: Double, enough: Int
    ) -> DiffLine {
        let (countA, countB) = (a.reduce(0) { $0 + $1.count }, b.reduce(0) { $0 + $1.count })
        var line = DiffLine(
            phase: key.phase, lane: key.lane, route: key.route, metric: metric, base: Bootstrap.mean(a), new: Bootstrap.mean(b), change: nil,
            verdict: .inconclusive, base_samples: countA, new_samples: countB)
        // Several runs a side: each run's figure is one sample (run-to-run noise is most of the noise); one run on a
        // side: its seconds, in blocks.
        let change: RelativeChange?
        if a.count >= 2, b.count >= 2 {
            // Per-second route percentiles come from 2-digit histograms (1 %), the phase's from 3-digit ones (0.1 %).
            let resolution = metric == .p50 || metric == .p99 ? (key.route == nil ? 0.001 : 0.01) : 0
            change = WelchInterval.change(
                base: a.compactMap { Bootstrap.mean([$0]) }, new: b.compactMap { Bootstrap.mean([$0]) }, resolution: resolution)
        } else {
            change = metric != .decidedPerSecond && countA >= enough && countB >= enough ? bootstrap.change(base: a, new: b) : nil
        }
        guard let change else { return line }
        line.change = change
        let better = metric.higherIsBetter ? change.lower > noise : change.upper < -noise
        let worse = metric.higherIsBetter ? change.upper < -noise : change.lower > noise
        line.verdict = better ? .improved : worse ? .regressed : .unchanged
        return line
    }

    /// How the intervals were made, in words for the reports.
    static func method(baseRuns: Int, newRuns: Int) -> String {
        let how =
            baseRuns >= 2 && newRuns >= 2
            ? "95 % Welch intervals on the runs' figures in logs (\(baseRuns) and \(newRuns) runs: each run one sample, so run-to-run noise is in the interval)"
            : "one run on a side: 95 % intervals from a seeded moving-block bootstrap of its seconds (2,000 resamples); they cover the noise within a run, "
                + "not between runs, which on a shared machine is larger: give both sides several runs (run --repeat N) before trusting a verdict"
        return how + "; latency lines compare the request-weighted mean of each second's percentile; a line is improved or regressed only when its "
            + "whole interval lies beyond ±noise"
    }
}

/// Per-second samples of a result's runs, by phase or window, lane and route.
enum DiffSamples {
    struct Key: Hashable, Sendable {
        var phase: String
        var lane: String?
        var route: String?
    }

    /// Every recorded timed phase and window, whole and route by route, in the order of the first run.
    static func keys(_ runs: [BenchResult.Run]) -> [Key] {
        var keys: [Key] = []
        for run in runs {
            for phase in views(run) {
                let routes = Set(phase.timeline.flatMap { ($0.routes ?? []).map(\.name) }).sorted()
                for key in [Key(phase: phase.name, lane: phase.lane, route: nil)] + routes.map({ Key(phase: phase.name, lane: phase.lane, route: $0) })
                where !keys.contains(key) {
                    keys.append(key)
                }
            }
        }
        return keys
    }

    /// Recorded phases and windows with a timeline worth reading (not a barrier's single burst).
    private static func views(_ run: BenchResult.Run) -> [PhaseResult] {
        (run.phases.filter(\.recorded) + (run.windows ?? [])).filter { $0.model != LoadModel.barrier.rawValue && $0.model != LoadModel.warmup.rawValue }
    }

    /// Each run's seconds of `key` for `metric`: requests per second (every whole second, an idle one as 0; the last,
    /// partial second left out), or each second's percentile weighted by its requests.
    static func seconds(_ runs: [BenchResult.Run], _ key: Key, _ metric: DiffMetric) -> [[SecondSample]] {
        runs.compactMap { run in
            guard let phase = views(run).first(where: { $0.name == key.phase && $0.lane == key.lane }) else { return nil }
            let whole = Int(phase.elapsed_seconds.rounded(.down))
            var byIndex: [Int: (requests: UInt64, p50: UInt64, p99: UInt64)] = [:]
            for point in phase.timeline where point.second < whole {
                if let route = key.route {
                    guard let r = point.routes?.first(where: { $0.name == route }) else { continue }
                    byIndex[point.second] = (r.requests, r.p50_us, r.p99_us)
                } else {
                    byIndex[point.second] = (point.requests, point.p50_us, point.p99_us)
                }
            }
            switch metric {
            case .requestsPerSecond:
                return (0..<whole).map { SecondSample(value: Double(byIndex[$0]?.requests ?? 0), weight: 1) }
            case .p50, .p99:
                return byIndex.sorted { $0.key < $1.key }.compactMap { _, second in
                    second.requests == 0 ? nil : SecondSample(value: Double(metric == .p50 ? second.p50 : second.p99), weight: Double(second.requests))
                }
            case .decidedPerSecond:
                return nil
            }
        }
    }
}
