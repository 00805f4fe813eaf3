import Foundation

/// The human report in Markdown: verdict first, then per-run phase tables, the ledger and thresholds.
struct MarkdownReport {
    let result: BenchResult

    func render() -> String {
        var lines: [String] = []
        lines.append("# \(result.scenario): \(result.passed ? "PASS" : "FAIL")")
        lines.append("")
        if let description = result.description { lines.append(description); lines.append("") }
        lines.append("Started \(result.started_at) on \(result.machine.hostname) (\(result.machine.cores) cores, \(result.machine.memory_gib) GiB, \(result.machine.os)); "
                     + "bench \(result.versions.bench), \(result.versions.libcurl).")
        lines.append("")
        lines.append("Command: `\(result.command)`")
        lines.append("")
        if !result.failures.isEmpty {
            lines.append("**Failures**")
            lines.append("")
            for failure in result.failures { lines.append("- \(failure)") }
            lines.append("")
        }
        for run in result.runs {
            lines.append("## \(result.runs.count > 1 ? run.label + " — " : "")\(run.target)")
            lines.append("")
            lines.append("| phase | model | conns | requests | req/s | errors | p50 | p90 | p99 | p99.9 | max | late | cache hits |")
            lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
            for phase in run.phases {
                let hit = phase.cacheHitRatio.map(Format.percent) ?? "–"
                lines.append("| \(phase.name)\(phase.recorded ? "" : " (warm-up)") | \(phase.model)\(phase.rate.map { " \($0)/s" } ?? "") | \(phase.connections) | "
                             + "\(Format.grouped(phase.requests)) | \(String(format: "%.1f", phase.requests_per_second)) | \(Format.grouped(phase.errors)) (\(Format.percent(phase.error_rate))) | "
                             + "\(Format.micros(phase.latency.p50)) | \(Format.micros(phase.latency.p90)) | \(Format.micros(phase.latency.p99)) | "
                             + "\(Format.micros(phase.latency.p999)) | \(Format.micros(phase.latency.max)) | \(phase.late) | \(hit) |")
            }
            lines.append("")
            let statuses = run.phases.filter(\.recorded).map { phase in
                "\(phase.name): " + (phase.statuses.sorted { $0.key < $1.key }.map { "\($0.key)×\(Format.grouped($0.value))" }
                    + phase.transport_errors.sorted { $0.key < $1.key }.map { "\($0.key)×\(Format.grouped($0.value))" }).joined(separator: ", ")
            }
            if !statuses.isEmpty { lines.append("Responses — " + statuses.joined(separator: "; ")); lines.append("") }
            if let faults = run.faults { lines += faultLines(faults) }
            if let ledger = run.ledger { lines += ledgerLines(ledger) }
        }
        if let ratios = result.ratios, !ratios.isEmpty {
            lines.append("## Ratios (\(result.runs.first?.label ?? "a") ÷ \(result.runs.last?.label ?? "b"))")
            lines.append("")
            for (name, value) in ratios.sorted(by: { $0.key < $1.key }) { lines.append("- \(name): **\(String(format: "%.2f", value))×**") }
            lines.append("")
        }
        if !result.thresholds.isEmpty {
            lines.append("## Thresholds")
            lines.append("")
            for threshold in result.thresholds { lines.append("- \(threshold.passed ? "✔" : "✘") `\(threshold.expression)` — \(threshold.message)") }
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }

    private func faultLines(_ faults: [FaultRunner.Event]) -> [String] {
        var lines = ["### Faults injected", "", "Times count from the instant the load fired (a barrier phase fires once every connection is open).", "",
                     "| at | action | took | | what happened |", "|---|---|---|---|---|"]
        for fault in faults {
            lines.append("| \(String(format: "%.1f", fault.started_at)) s | \(fault.action) | \(String(format: "%.0f", fault.duration_ms)) ms | "
                         + "\(fault.ok ? "done" : "FAILED") | \(fault.detail.replacingOccurrences(of: "|", with: "/").replacingOccurrences(of: "\n", with: " ")) |")
        }
        return lines + [""]
    }

    private func ledgerLines(_ ledger: LedgerReport) -> [String] {
        var lines = ["### Ledger of event \(ledger.event_id): \(ledger.passed ? "holds" : "VIOLATED")", ""]
        lines.append("| total | available | held | confirmed | pending | sold out | other failures | accepted (202) | decided | undecided | phantom | oversold |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        func optional(_ value: Int?) -> String { value.map(String.init) ?? "–" }
        lines.append("| \(ledger.total_tickets) | \(ledger.available_tickets) | \(ledger.held) | \(ledger.confirmed) | \(ledger.pending) | \(ledger.failed_sold_out) | "
                     + "\(ledger.failed_other) | \(optional(ledger.accepted)) | \(optional(ledger.decided)) | \(optional(ledger.undecided)) | \(optional(ledger.phantom)) | \(ledger.oversold) |")
        lines.append("")
        if let decision = ledger.decision_latency {
            lines.append("Decision latency (202 → decided): p50 \(Format.micros(decision.p50)), p90 \(Format.micros(decision.p90)), p99 \(Format.micros(decision.p99)), "
                         + "max \(Format.micros(decision.max)); \(ledger.decided_per_second.map { String(format: "%.1f", $0) } ?? "–") decided bookings/s.")
            lines.append("")
        }
        for violation in ledger.violations { lines.append("- ✘ \(violation)") }
        if !ledger.violations.isEmpty { lines.append("") }
        return lines
    }
}
