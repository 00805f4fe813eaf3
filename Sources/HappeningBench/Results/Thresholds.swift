import Foundation

/// A threshold like `p99 < 50ms`, `steady.error_rate < 0.1%`, `oversold == 0`, and its verdict.
struct ThresholdResult: Codable, Sendable {
    var expression: String
    var actual: Double?
    var limit: Double
    var passed: Bool
    /// What failed and by how much, or why it could not be evaluated.
    var message: String
    /// Not evaluated in this process: a shard leaves what it cannot know (the fleet's ledger) to `merge`.
    var deferred: Bool? = nil
}

/// Evaluates thresholds against a run's phases and ledger.
///
/// Metrics: `<phase>.<stat>` with stat one of p50, p90, p99, p999, p9999, max, mean (latencies, compared in
/// µs; write the limit with `us`, `ms` or `s`), rps, requests, errors, error_rate (write `0.1%`), late,
/// cache_hit_ratio, status_NNN (how many responses had status NNN, e.g. status_503); a stat without a phase means the last recorded phase.
/// In a laned scenario `<lane>.<stat>` is the lane over the whole run and `<lane>@<phase>.<stat>` the lane's requests
/// that were due while another lane's phase ran (`browse@sale.p99 < 25ms`). Ledger metrics: oversold,
/// undecided (alias lost), phantom, excess_bookings, held_mismatch, conservation_error, duplicates, duplicate_users, decision.p50 … decision.max,
/// decided_per_second, max_tickets_per_user, tickets_won.<lane> and tickets_share.<lane> (write `50%`; the lane's share of
/// the tickets held at the end). A slow phase's metrics: <phase>.closed_by_server, .still_open, .connect_failures,
/// .answered, .close_after_p50 … .close_after_max (from the client's last byte to the target's close);
/// <phase>.target_cpu_per_request (the target's CPU per request, `--target-pid`/`--target-metrics`). Staleness metrics (a scenario with `staleness:`): staleness.max, staleness.p99 and
/// staleness.shown_after_sold_out_max (latencies), staleness.stale, staleness.understated, staleness.reads and
/// shown_after_sold_out (counts). History metrics (a sale whose history is checked): history.false_sold_out,
/// history.told_mismatch, history.read_your_writes, history.not_linearizable (violations) and history.followed
/// (accepted bookings asked about).
enum Thresholds {
    static let operators = ["<=", ">=", "==", "!=", "<", ">"]

    static func evaluate(
        _ expression: String, phases: [PhaseResult], windows: [PhaseResult] = [], ledger: LedgerReport?,
        staleness: StalenessReport? = nil, history: CustomerHistoryReport? = nil
    ) -> ThresholdResult {
        guard let op = operators.first(where: { expression.contains($0) }),
            let range = expression.range(of: op)
        else {
            return ThresholdResult(expression: expression, actual: nil, limit: 0, passed: false, message: "cannot parse '\(expression)' (metric op value)")
        }
        let metric = expression[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
        let rawLimit = expression[range.upperBound...].trimmingCharacters(in: .whitespaces)
        guard let (limit, isLatency) = parseLimit(rawLimit) else {
            return ThresholdResult(expression: expression, actual: nil, limit: 0, passed: false, message: "cannot parse the limit '\(rawLimit)'")
        }
        guard
            let (actual, latencyMetric) = value(of: metric, staleness: staleness) ?? value(of: metric, history: history)
                ?? value(of: metric, phases: phases, windows: windows, ledger: ledger)
        else {
            return ThresholdResult(expression: expression, actual: nil, limit: limit, passed: false, message: "no value for '\(metric)' in this run")
        }
        if latencyMetric != isLatency, !(latencyMetric && limit == 0) {
            return ThresholdResult(
                expression: expression, actual: actual, limit: limit, passed: false,
                message: latencyMetric ? "'\(metric)' is a latency: give the limit a unit (us, ms, s)" : "'\(metric)' is not a latency")
        }
        let passed: Bool
        switch op {
        case "<": passed = actual < limit
        case "<=": passed = actual <= limit
        case ">": passed = actual > limit
        case ">=": passed = actual >= limit
        case "==": passed = actual == limit
        default: passed = actual != limit
        }
        let shown = latencyMetric ? Format.micros(UInt64(max(0, actual))) : Self.number(actual)
        let message = passed ? "\(metric) = \(shown)" : "\(metric) = \(shown), limit \(op) \(rawLimit)\(difference(actual, limit, latencyMetric))"
        return ThresholdResult(expression: expression, actual: actual, limit: limit, passed: passed, message: message)
    }

    private static func difference(_ actual: Double, _ limit: Double, _ latency: Bool) -> String {
        let delta = abs(actual - limit)
        let shown = latency ? Format.micros(UInt64(delta)) : number(delta)
        return limit == 0 ? " (off by \(shown))" : String(format: " (off by %@, %.0f%%)", shown, delta / abs(limit) * 100)
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.4g", value)
    }

    /// `50ms` → (50000 µs, latency); `0.1%` → (0.001, not); `3` → (3, not).
    static func parseLimit(_ text: String) -> (Double, Bool)? {
        for (suffix, scale) in [("us", 1.0), ("µs", 1.0), ("ms", 1_000.0), ("s", 1_000_000.0)] where text.hasSuffix(suffix) {
            guard let number = Double(text.dropLast(suffix.count)) else { return nil }
            return (number * scale, true)
        }
        if text.hasSuffix("%"), let number = Double(text.dropLast()) { return (number / 100, false) }
        return Double(text).map { ($0, false) }
    }

    /// A history metric (counts), or nil when `metric` is not one or the run's history was not checked.
    private static func value(of metric: String, history: CustomerHistoryReport?) -> (Double, Bool)? {
        guard let history, metric.hasPrefix("history.") else { return nil }
        let name = metric.dropFirst("history.".count)
        if name == "followed" { return (Double(history.followed), false) }
        return history.checks.first { $0.metric == name && $0.skipped == nil }.map { (Double($0.violations), false) }
    }

    /// A staleness metric (latencies in µs), or nil when `metric` is not one or the run has no staleness report.
    private static func value(of metric: String, staleness: StalenessReport?) -> (Double, Bool)? {
        guard let staleness else { return nil }
        switch metric {
        case "staleness.max": return (staleness.max_staleness_ms * 1_000, true)
        case "staleness.p99": return ((staleness.p99_staleness_ms ?? 0) * 1_000, true)
        case "staleness.shown_after_sold_out_max": return ((staleness.shown_after_sold_out_max_ms ?? 0) * 1_000, true)
        case "staleness.stale": return (Double(staleness.stale), false)
        case "staleness.understated": return (Double(staleness.understated), false)
        case "staleness.reads": return (Double(staleness.reads), false)
        case "shown_after_sold_out", "staleness.shown_after_sold_out": return (Double(staleness.shown_after_sold_out), false)
        default: return nil
        }
    }

    private static func value(of metric: String, phases: [PhaseResult], windows: [PhaseResult], ledger: LedgerReport?) -> (Double, Bool)? {
        let parts = metric.split(separator: ".").map(String.init)
        if let ledger {
            switch metric {
            case "oversold": return (Double(ledger.oversold), false)
            case "undecided", "lost": return ledger.undecided.map { (Double($0), false) }
            case "phantom": return ledger.phantom.map { (Double($0), false) }
            case "held_mismatch": return ledger.held_mismatch.map { (Double($0), false) }
            case "conservation_error": return (Double(ledger.conservation_error), false)
            case "duplicates": return ledger.duplicate_idempotency_keys.map { (Double($0), false) }
            case "duplicate_users": return ledger.duplicate_users.map { (Double($0), false) }
            case "excess_bookings": return ledger.excess_bookings.map { (Double($0), false) }
            case "decided_per_second": return ledger.decided_per_second.map { ($0, false) }
            case "max_tickets_per_user": return ledger.max_tickets_per_user.map { (Double($0), false) }
            default:
                if parts.count == 2, parts[0] == "decision", let summary = ledger.decision_latency { return latency(parts[1], summary).map { ($0, true) } }
                if parts.count == 2, let lane = ledger.lanes?.first(where: { $0.lane == parts[1] }) {
                    if parts[0] == "tickets_won" { return (Double(lane.tickets_won), false) }
                    if parts[0] == "tickets_share" { return (lane.share, false) }
                }
            }
        }
        let phase: PhaseResult?
        let stat: String
        if parts.count == 2 {
            phase = phases.first { $0.name == parts[0] } ?? windows.first { $0.name == parts[0] }
            stat = parts[1]
        } else {
            phase = phases.last { $0.recorded }
            stat = metric
        }
        guard let phase else { return nil }
        if let value = latency(stat, phase.latency) { return (value, true) }
        switch stat {
        case "rps": return (phase.requests_per_second, false)
        case "requests": return (Double(phase.requests), false)
        case "errors": return (Double(phase.errors), false)
        case "error_rate": return (phase.error_rate, false)
        case "late": return (Double(phase.late), false)
        case "cache_hit_ratio": return phase.cacheHitRatio.map { ($0, false) }
        case let name where name.hasPrefix("status_") && Int(name.dropFirst(7)) != nil:
            return (Double(phase.statuses[String(name.dropFirst(7))] ?? 0), false)  // responses with that status
        case "target_cpu_per_request": return phase.target_cpu?.per_request_us.map { ($0, true) }  // µs, like a latency
        default: return slowClientValue(stat, phase.slow_clients)
        }
    }

    /// A slow phase's figures: `closed_by_server`, `still_open`, `connect_failures`, `answered`, and `close_after_p50`
    /// (… `_max`): from a client's last byte to the target's close.
    private static func slowClientValue(_ stat: String, _ report: SlowClientReport?) -> (Double, Bool)? {
        guard let report else { return nil }
        switch stat {
        case "closed_by_server": return (Double(report.closed_by_server), false)
        case "still_open": return (Double(report.still_open), false)
        case "connect_failures": return (Double(report.connect_failures), false)
        case "answered": return (Double(report.answered), false)
        case let name where name.hasPrefix("close_after_"):
            // None closed: no value, and a threshold without a value fails.
            return report.close_after.flatMap { latency(String(name.dropFirst("close_after_".count)), $0) }.map { ($0, true) }
        default: return nil
        }
    }

    private static func latency(_ stat: String, _ summary: LatencySummary) -> Double? {
        switch stat {
        case "p50": return Double(summary.p50)
        case "p90": return Double(summary.p90)
        case "p99": return Double(summary.p99)
        case "p999": return Double(summary.p999)
        case "p9999": return Double(summary.p9999)
        case "max": return Double(summary.max)
        case "mean": return summary.mean
        case "min": return Double(summary.min)
        default: return nil
        }
    }
}
