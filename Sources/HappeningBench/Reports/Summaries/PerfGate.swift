import Foundation
import HappeningCommandLine

/// scripts/perf-gate.sh's verdicts (results/perf-gate.{md,json}): this build's compare-nginx rounds against a base's, as
/// ratios to nginx measured in the same round. Per pattern two measures: the server's CPU per request over nginx's (lower
/// is better) and its req/s over nginx's (higher is better). The base keeps several runs of its build from different
/// sittings, and how far their medians drift apart (A/A) widens the tolerance: the larger of the floor and twice the
/// drift. A measure regressed when every round of this build is worse than every round of the base and the medians
/// differ by more than its tolerance; improved the same way the other way.
package struct PerfGate: ScriptSummary {
    static let rule =
        "every round worse than every base round, medians apart by more than the tolerance (the larger of the floor and twice the drift between the base's runs)"

    /// results/perf-gate-base.json: runs of the base build (compare-nginx results), from different sittings.
    package struct Base: Codable, Sendable {
        package var runs: [NginxComparison.Document]
    }

    package struct Document: Codable, Sendable {
        var base: BaseRuns
        var now: Run
        var tolerance_percent: Double
        var rule = PerfGate.rule
        var same_machine: Bool
        var rows: [Row]
        var regressed: Int
        var strict: Bool
    }

    struct BaseRuns: Codable, Sendable {
        var commit: String
        var measured_at: [String]
        var machine: String
        var runs: Int
    }

    struct Run: Codable, Sendable {
        var commit: String
        var measured_at: String
        var machine: String
    }

    /// One measure of one pattern: both sides' rounds, medians, the change, the tolerance and the verdict.
    struct Row: Codable, Sendable {
        var pattern: String
        var measure: String
        var lower_is_better: Bool
        var base_rounds: [Double]
        var now_rounds: [Double]
        @NullWhenNil var base_median: Double?
        @NullWhenNil var now_median: Double?
        @NullWhenNil var change_percent: Double?
        var base_drift_percent: Double
        var tolerance_percent: Double
        /// `regressed`, `improved`, `same` or `no data`.
        var verdict: String
    }

    /// The two measures: a round's server figure over nginx's.
    enum Measure: CaseIterable {
        case cpu, rps

        var name: String { self == .cpu ? "CPU µs/req × nginx" : "req/s × nginx" }
        var lowerIsBetter: Bool { self == .cpu }

        /// Per round, server ÷ nginx (rounds without both figures are left out).
        func rounds(_ pattern: NginxComparison.Pattern) -> [Double] {
            zip(pattern.server.runs, pattern.nginx.runs).compactMap { server, nginx in
                let (mine, theirs) = self == .cpu ? (server.cpu_us_per_request, nginx.cpu_us_per_request) : (server.rps, nginx.rps)
                return mine != 0 && theirs != 0 ? mine / theirs : nil
            }
        }
    }

    package let document: Document
    /// Where the report goes, for the printed lines.
    let out: String

    /// `tolerancePercent`: the floor of every measure's tolerance.
    package init(base: Base, now: NginxComparison.Document, tolerancePercent: Double, strict: Bool, out: String) {
        let tolerance = tolerancePercent / 100
        var rows: [Row] = []
        for (name, pattern) in now.orderedPatterns {
            let baseSides = base.runs.compactMap { $0.patterns[name] }
            guard baseSides.count == base.runs.count else { continue }
            for measure in Measure.allCases { rows.append(Self.row(name, measure, base: baseSides, now: pattern, tolerance: tolerance)) }
        }
        let first = base.runs.first
        document = Document(
            base: BaseRuns(commit: first?.commit ?? "", measured_at: base.runs.map(\.measured_at), machine: first?.machine ?? "", runs: base.runs.count),
            now: Run(commit: now.commit, measured_at: now.measured_at, machine: now.machine), tolerance_percent: tolerance * 100,
            same_machine: first?.machine == now.machine, rows: rows, regressed: rows.filter { $0.verdict == "regressed" }.count, strict: strict)
        self.out = out
    }

    private static func row(_ name: String, _ measure: Measure, base: [NginxComparison.Pattern], now: NginxComparison.Pattern, tolerance: Double) -> Row {
        let baseRounds = base.flatMap(measure.rounds)
        let nowRounds = measure.rounds(now)
        // How far the base's runs lie apart, relative to their median (0 with one run).
        let medians = base.compactMap { measure.rounds($0).median }
        let drift = medians.count < 2 ? 0 : (medians.max()! - medians.min()!) / medians.median!
        let allowed = max(tolerance, 2 * drift)
        let (baseMedian, nowMedian) = (baseRounds.median, nowRounds.median)
        let change = baseMedian.flatMap { base in nowMedian.map { $0 / base - 1 } }
        return Row(
            pattern: name, measure: measure.name, lower_is_better: measure.lowerIsBetter, base_rounds: baseRounds.map { Format.rounded($0, places: 3) },
            now_rounds: nowRounds.map { Format.rounded($0, places: 3) }, base_median: baseMedian.map { Format.rounded($0, places: 3) },
            now_median: nowMedian.map { Format.rounded($0, places: 3) }, change_percent: change.map { Format.rounded($0 * 100, places: 1) },
            base_drift_percent: Format.rounded(drift * 100, places: 1), tolerance_percent: Format.rounded(allowed * 100, places: 1),
            verdict: verdict(base: baseRounds, now: nowRounds, lowerIsBetter: measure.lowerIsBetter, tolerance: allowed))
    }

    /// `regressed` when every round is worse than every base round and the medians differ by more than `tolerance`.
    static func verdict(base: [Double], now: [Double], lowerIsBetter: Bool, tolerance: Double) -> String {
        guard let baseMedian = base.median, let nowMedian = now.median else { return "no data" }
        let beyond = abs(nowMedian / baseMedian - 1) > tolerance
        let (nowBelow, nowAbove) = (now.max()! < base.min()!, now.min()! > base.max()!)
        let (worse, better) = lowerIsBetter ? (nowAbove, nowBelow) : (nowBelow, nowAbove)
        if worse && beyond { return "regressed" }
        if better && beyond { return "improved" }
        return "same"
    }

    /// STRICT=1 and something regressed: the gate fails.
    package var fails: Bool { document.strict && document.regressed > 0 }

    package var markdown: String {
        let d = document
        let another = d.same_machine ? "" : " — **another machine**: ratios to nginx carry over only roughly"
        let rows = d.rows.map { r in
            "| \(r.pattern) | \(r.measure) | \(Self.text(r.base_median)) | \(Self.text(r.now_median)) | \(Self.signed(r.change_percent)) % | "
                + "\(r.base_drift_percent) % | \(r.tolerance_percent) % | \(r.base_rounds.map { "\($0)" }.joined(separator: ", ")) | "
                + "\(r.now_rounds.map { "\($0)" }.joined(separator: ", ")) | \(r.verdict) |"
        }
        return
            ([
                "# Perf gate: \(d.now.commit) against the base \(d.base.commit)", "",
                "Base: \(d.base.runs) run(s) of \(d.base.commit) (\(d.base.measured_at.joined(separator: ", "))) on \(d.base.machine); "
                    + "this run \(d.now.measured_at) on \(d.now.machine)\(another).",
                "Command: `scripts/perf-gate.sh` (compare-nginx.sh, \(d.rows.first?.now_rounds.count ?? 0) rounds). Rule: \(d.rule); "
                    + "floor \(String(format: "%.0f", d.tolerance_percent)) %.", "",
                "| pattern | measure | base median | this build | change | base drift (A/A) | tolerance | base rounds | this build's rounds | verdict |",
                "|---|---|---|---|---|---|---|---|---|---|",
            ] + rows).joined(separator: "\n") + "\n"
    }

    /// A line per measure (⚠ on a regression), then the verdict.
    package var printed: String {
        var lines = document.rows.map { r in
            (r.verdict == "regressed" ? "⚠ " : "  ") + Self.padded(r.pattern, 24) + " " + Self.padded(r.measure, 20)
                + " base \(Self.text(r.base_median))  now \(Self.text(r.now_median))  (\(Self.signed(r.change_percent)) %, "
                + "tolerance \(r.tolerance_percent) %)  \(r.verdict)"
        }
        lines.append(
            document.regressed > 0
                ? "== perf gate: WARNING: \(document.regressed) certain regression(s) (report: \(out).md)"
                : "== perf gate: no certain regression (report: \(out).md)")
        if document.base.runs < 2 {
            lines.append("== perf gate: the base has one run: no measure of the drift between sittings yet (ACCEPT=add adds one)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// This run made the base (`adding`: added to the base's runs, which must be of the same commit). Returns the line to print.
    package static func accept(_ now: NginxComparison.Document, base path: String, adding: Bool) throws -> String {
        let runs = adding ? SummaryFiles.read(Base.self, from: path)?.runs ?? [] : []
        if let first = runs.first, first.commit != now.commit {
            throw UsageError("the base is \(first.commit), this build \(now.commit): ACCEPT=add takes runs of the same commit")
        }
        try SummaryFiles.write(String(decoding: try SummaryFiles.encoder.encode(Base(runs: runs + [now])), as: UTF8.self) + "\n", to: path)
        return "== perf gate: \(path) holds \(runs.count + 1) run(s) of \(now.commit)"
    }

    private static func text(_ value: Double?) -> String { value.map { "\($0)" } ?? "None" }
    private static func signed(_ value: Double?) -> String { value.map { String(format: "%+.1f", $0) } ?? "–" }
    private static func padded(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
}
