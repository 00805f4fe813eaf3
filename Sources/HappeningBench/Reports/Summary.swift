import Foundation
import HappeningHTTP
import HappeningLoad
import HappeningSystem
import PrometheusRemoteWrite

/// The short summary printed at the end.
package enum Summary {
    package static func text(_ result: BenchResult, paths: (json: String, markdown: String, html: String)) -> String {
        var lines = ["happening-bench: \(result.scenario): \(result.passed ? "PASS" : "FAIL")"]
        for run in result.runs {
            for phase in run.phases.filter(\.recorded) + (run.windows ?? []) {
                lines.append(
                    "  \(result.runs.count > 1 ? run.label + " " : "")\(phase.name): \(Format.grouped(phase.requests)) requests, "
                        + "\(String(format: "%.1f", phase.requests_per_second)) req/s, errors \(Format.percent(phase.error_rate)), "
                        + "p50 \(Format.micros(phase.latency.p50)), p99 \(Format.micros(phase.latency.p99)), max \(Format.micros(phase.latency.max))"
                        + (phase.cacheHitRatio.map { ", cache hits \(Format.percent($0))" } ?? "") + (phase.late > 0 ? ", \(phase.late) late" : "")
                        + (phase.protocolNote.map { ", \($0)" } ?? "")
                        + (phase.target_cpu?.per_request_us.map { String(format: ", target CPU %.1f µs/req", $0) } ?? "")
                        + (phase.shard_start_skew_ms.map { String(format: ", %d processes, start skew %.2f ms", phase.processes, $0) } ?? "")
                        + (phase.memory.flatMap { memory in
                            // Below a thousand connections the process's fixed part dominates the figure.
                            memory.connections >= 1_000 ? ", \(Format.bytes(memory.peak_per_connection_bytes)) resident per connection" : nil
                        } ?? ""))
                if let slow = phase.slow_clients {
                    lines.append(
                        "    slow clients (\(slow.send)): \(slow.opened) opened, \(slow.closed_by_server) closed by the target"
                            + (slow.close_after.map { " (after p50 \(Format.micros($0.p50)), max \(Format.micros($0.max)))" } ?? "")
                            + ", \(slow.still_open) still open at the end" + (slow.connect_failures > 0 ? ", \(slow.connect_failures) could not connect" : ""))
                }
                if let byStatus = phase.status_latency, byStatus.count > 1 {
                    lines.append(
                        "    by status: "
                            + byStatus.map {
                                "\($0.status) ×\(Format.grouped($0.requests)) p50 \(Format.micros($0.latency.p50)) p99 \(Format.micros($0.latency.p99))"
                            }
                            .joined(separator: "; "))
                }
            }
            if let ledger = run.ledger {
                lines.append(
                    "  ledger \(ledger.event_id): total \(ledger.total_tickets), held \(ledger.held), available \(ledger.available_tickets), "
                        + "accepted \(ledger.accepted.map(String.init) ?? "–"), decided \(ledger.decided.map(String.init) ?? "–"), oversold \(ledger.oversold)"
                        + (ledger.decision_latency.map { ", decision p99 \(Format.micros($0.p99))" } ?? "")
                        + (ledger.decided_per_second.map { String(format: ", %.1f decided/s", $0) } ?? ""))
                if let lanes = ledger.lanes {
                    lines.append(
                        "    tickets won: " + lanes.map { "\($0.lane) \($0.tickets_won) (\(Format.percent($0.share)))" }.joined(separator: ", ")
                            + (ledger.max_tickets_per_user.map { "; the most one user holds: \($0)" } ?? ""))
                }
            }
            if let history = run.history {
                lines.append(
                    "  told: \(Format.grouped(UInt64(history.followed))) accepted bookings followed ("
                        + history.told.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "); "
                        + history.checks.map { check in
                            "\(check.metric) " + (check.skipped == nil ? "\(check.violations) of \(check.checkedText)" : "skipped")
                        }.joined(separator: ", "))
            }
            if let written = run.remote_write { lines.append("  " + written.sentence) }
            if let staleness = run.staleness {
                lines.append(
                    "  staleness \(staleness.event_id): \(staleness.reads) reads, \(staleness.stale) stale (max \(String(format: "%.1f", staleness.max_staleness_ms)) ms), "
                        + "\(staleness.understated) understated, \(staleness.shown_after_sold_out) shown after sold out")
            }
        }
        for (name, value) in (result.ratios ?? [:]).sorted(by: { $0.key < $1.key }) { lines.append("  ratio \(name): \(String(format: "%.2f", value))×") }
        for failure in result.failures { lines.append("  FAIL: \(failure)") }
        for warning in result.generatorWarnings { lines.append("  WARNING: \(warning)") }
        lines.append("  reports: \(paths.markdown), \(paths.html), \(paths.json)")
        return lines.joined(separator: "\n")
    }
}
