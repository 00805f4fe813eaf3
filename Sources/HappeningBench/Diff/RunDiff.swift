import Foundation
import HappeningCommandLine
import HappeningSystem

/// What `diff` compares on each line, and which way is better.
package enum DiffMetric: String, Codable, Sendable, CaseIterable {
    case requestsPerSecond = "req/s"
    case p50
    case p99
    /// The ledger's decided bookings per second (one figure per run: needs several runs a side).
    case decidedPerSecond = "decided/s"

    var higherIsBetter: Bool { self == .requestsPerSecond || self == .decidedPerSecond }
}

/// A line's verdict.
package enum DiffVerdict: String, Codable, Sendable {
    case improved
    case unchanged = "no significant change"
    case regressed
    /// No interval: a side without the line, or one run on a side with no calibration of this line (``DiffLine/note``).
    case inconclusive
}

/// One compared figure: where (phase or window, lane, route), both sides' values, the change with its interval and
/// the verdict.
package struct DiffLine: Codable, Sendable {
    var phase: String
    var lane: String?
    /// nil: the whole phase.
    var route: String?
    package var metric: DiffMetric
    /// Each side's geometric mean of its runs' figures: requests per second; or the request-weighted mean of each
    /// second's p50 or p99 (µs); or decided bookings per second.
    var base: Double?
    var new: Double?
    package var change: RelativeChange?
    package var verdict: DiffVerdict
    /// Runs behind each side.
    var base_runs: Int
    var new_runs: Int
    /// Why a line is inconclusive.
    var note: String? = nil

    /// new / base − 1 of the shown values (with or without an interval).
    var pointChange: Double? {
        guard let base, let new, base > 0 else { return nil }
        return new / base - 1
    }

    package var place: String { [lane.map { "lane \($0)" }, phase, route].compactMap { $0 }.joined(separator: " / ") }

    /// How far the interval goes the bad way at its nearest: a regression beyond this is certain.
    var certainRegression: Double? {
        guard let change, verdict == .regressed else { return nil }
        return metric.higherIsBetter ? -change.upper : change.lower
    }
}

/// `happening-bench diff BASE.json NEW.json`: every phase, lane and route the two results share, compared run by run.
///
/// Each run's figure is one sample (run-to-run noise is most of the noise on a shared machine; the seconds inside one
/// run agree with each other far more than with the next run). A side with several runs brings its own spread; a side
/// with one run takes it from a ``DiffCalibration`` of this machine, and without one the line is inconclusive — it
/// never fails a build. The intervals hold together: each line's is at 1 − 5 %/m for the m lines compared
/// (Bonferroni), so a diff of the same build calls anything at all in at most 5 % of diffs, however many lines it has.
package struct RunDiff: Codable, Sendable {
    var base: String
    var new: String
    var scenario: String
    var base_runs: Int
    var new_runs: Int
    /// Changes inside ±noise are never called improved or regressed, however certain.
    var noise: Double
    var fail_on_regression: Double?
    /// Lines with an interval, and the confidence of each line's interval (1 − 0.05 / lines_compared).
    var lines_compared: Int
    var line_confidence: Double
    /// The calibration used for sides with one run, if any (its file, runs and machine).
    var calibration: String?
    var method: String
    package var lines: [DiffLine]

    /// The chance that a diff of one build against itself calls any line (all lines together).
    static let familyError = 0.05

    /// Lines whose regression is certainly beyond `--fail-on-regression`.
    package var failures: [DiffLine] {
        guard let tolerance = fail_on_regression else { return [] }
        return lines.filter { ($0.certainRegression ?? 0) > tolerance }
    }

    /// Lines left inconclusive because a side has one run and no calibration covers them.
    var uncalibrated: Int { lines.filter { $0.note == Self.uncalibratedNote }.count }

    static let uncalibratedNote = "one run on a side and no calibration of this line: how far runs differ is unknown"
    static let singleRunP99Note = "one run on a side: a p99 of one run is judged only with several runs a side"

    package static func compare(
        base: BenchResult, new: BenchResult, names: (String, String), noise: Double, failOnRegression: Double?, calibration: (DiffCalibration, String)? = nil
    ) throws -> RunDiff {
        for (result, name) in [(base, names.0), (new, names.1)] where Set(result.runs.map(\.target)).count > 1 {
            throw UsageError("\(name) holds runs against several targets (a compare): diff compares repeats of one target")
        }
        let newFigures = Dictionary(DiffFigures.all(new.runs).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let pairs = DiffFigures.all(base.runs).compactMap { a in newFigures[a.id].map { (a, $0) } }
        let sides = pairs.map { a, b -> (ComparedSide?, ComparedSide?) in
            // Per-second route percentiles come from 2-digit histograms (1 %), the phase's from 3-digit ones (0.1 %); a
            // count moves by one request at the least (two short runs of a slow route once counted alike on each side,
            // and a 3 % change came out certain to the last digit).
            let fewest = (a.values + b.values).min() ?? 0
            let resolution =
                switch a.metric {
                case .p50, .p99: a.key.route == nil ? 0.001 : 0.01
                case .requestsPerSecond, .decidedPerSecond: fewest > 0 ? 1 / fewest : 0
                }
            // A single run's p99 is too heavy-tailed to judge against a calibration (measured: a few slow requests
            // move it by a third, beyond what 40 calibration runs foresaw); it needs several runs a side.
            let spread = a.metric == .p99 ? nil : calibration?.0.spread(a.key, a.metric)
            return (
                ComparedSide(figures: a.values, within: a.within, calibrated: spread, resolution: resolution),
                ComparedSide(figures: b.values, within: b.within, calibrated: spread, resolution: resolution)
            )
        }
        let compared = sides.filter { $0.0 != nil && $0.1 != nil }.count
        let confidence = 1 - familyError / Double(max(1, compared))
        let lines = zip(pairs, sides).map { pair, side in
            line(pair.0, pair.1, side, confidence: confidence, noise: noise, calibration: calibration?.0)
        }
        return RunDiff(
            base: names.0, new: names.1, scenario: new.scenario, base_runs: base.runs.count, new_runs: new.runs.count, noise: noise,
            fail_on_regression: failOnRegression, lines_compared: compared, line_confidence: confidence,
            calibration: calibration.map { "\($0.1) (\($0.0.runs) runs of one build on \($0.0.machine.hostname), \($0.0.made_at))" },
            method: method(compared: compared, confidence: confidence), lines: lines)
    }

    private static func line(
        _ a: DiffFigures, _ b: DiffFigures, _ sides: (ComparedSide?, ComparedSide?), confidence: Double, noise: Double, calibration: DiffCalibration?
    ) -> DiffLine {
        var line = DiffLine(
            phase: a.key.phase, lane: a.key.lane, route: a.key.route, metric: a.metric, base: a.geometricMean, new: b.geometricMean, change: nil,
            verdict: .inconclusive, base_runs: a.values.count, new_runs: b.values.count)
        guard let baseSide = sides.0, let newSide = sides.1 else {
            let positive = !a.values.isEmpty && !b.values.isEmpty && (a.values + b.values).allSatisfy { $0 > 0 }
            line.note =
                !positive ? "no figure on a side (or one of 0)" : a.metric == .p99 && calibration != nil ? singleRunP99Note : uncalibratedNote
            return line
        }
        let change = ChangeInterval.change(base: baseSide, new: newSide, confidence: confidence)
        line.change = change
        let better = a.metric.higherIsBetter ? change.lower > noise : change.upper < -noise
        let worse = a.metric.higherIsBetter ? change.upper < -noise : change.lower > noise
        line.verdict = better ? .improved : worse ? .regressed : .unchanged
        return line
    }

    /// How the intervals were made, in words for the reports.
    static func method(compared: Int, confidence: Double) -> String {
        "each run's figure is one sample (the seconds of one run agree with each other far more than with the next run); a side with several runs "
            + "brings its own spread, a side with one run the spread a calibration measured on this machine (happening-bench calibrate), else the line "
            + "is inconclusive; Welch intervals on the figures in logs, each at "
            + String(format: "%.2f %%", confidence * 100)
            + " so that the \(compared) compared lines hold together at 95 % (Bonferroni); latency lines compare the request-weighted mean of each "
            + "second's percentile; a line is improved or regressed only when its whole interval lies beyond ±noise"
    }
}

/// One line's figures on one side: each run's figure for one (phase or window, lane, route) and metric.
struct DiffFigures: Sendable {
    var key: DiffSamples.Key
    var metric: DiffMetric
    /// One per run that has the line.
    var values: [Double]
    /// Per run, the variance of its log figure from its own seconds (empty for a figure a run gives once).
    var within: [Double] = []

    struct ID: Hashable {
        var key: DiffSamples.Key
        var metric: DiffMetric
    }

    var id: ID { ID(key: key, metric: metric) }

    var geometricMean: Double? {
        guard !values.isEmpty, values.allSatisfy({ $0 > 0 }) else { return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }
        return exp(values.map(log).reduce(0, +) / Double(values.count))
    }

    /// The variance of a run's figure from its own seconds: the variance of their logs over their count (0 for fewer
    /// than two seconds or a second of 0).
    static func withinVariance(_ seconds: [SecondSample]) -> Double {
        let logs = seconds.filter { $0.value > 0 }.map { log($0.value) }
        guard logs.count >= 2 else { return 0 }
        let mean = logs.reduce(0, +) / Double(logs.count)
        return logs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(logs.count - 1) / Double(logs.count)
    }

    /// Every line of `runs`: each phase, window and route with req/s, p50 and p99, and the ledger's decided/s.
    static func all(_ runs: [BenchResult.Run]) -> [DiffFigures] {
        var lines: [DiffFigures] = []
        for key in DiffSamples.keys(runs) {
            for metric in [DiffMetric.requestsPerSecond, .p50, .p99] {
                let seconds = DiffSamples.seconds(runs, key, metric).filter { SecondSample.mean($0) != nil }
                lines.append(DiffFigures(key: key, metric: metric, values: seconds.compactMap(SecondSample.mean), within: seconds.map(Self.withinVariance)))
            }
        }
        let decided = runs.compactMap { $0.ledger?.decided_per_second }
        if !decided.isEmpty { lines.append(DiffFigures(key: .init(phase: "ledger", lane: nil, route: nil), metric: .decidedPerSecond, values: decided)) }
        return lines
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
