import Foundation

/// A table of a report, rendered as Markdown or as HTML from the same rows, so both reports say the same thing.
struct ReportTable {
    var title: String
    /// A sentence under the title, if any.
    var note: String?
    var header: [String]
    var rows: [[String]]

    var markdown: [String] {
        var lines = ["### \(title)", ""]
        if let note { lines += [note, ""] }
        lines.append("| " + header.joined(separator: " | ") + " |")
        lines.append("|" + String(repeating: "---|", count: header.count))
        for row in rows { lines.append("| " + row.map { $0.replacingOccurrences(of: "|", with: "/") }.joined(separator: " | ") + " |") }
        return lines + [""]
    }

    var html: String {
        var text = "<h4>\(MarkupText.escape(title))</h4>\n"
        if let note { text += "<p class=\"note\">\(MarkupText.escape(note))</p>\n" }
        text += "<table><thead><tr>" + header.map { "<th>\(MarkupText.escape($0))</th>" }.joined() + "</tr></thead><tbody>\n"
        for row in rows { text += "<tr>" + row.map { "<td>\(MarkupText.escape($0))</td>" }.joined() + "</tr>\n" }
        return text + "</tbody></table>\n"
    }
}

/// The tables every report shows for a run: phases, lanes and windows, route by route.
enum RunTables {
    private static let figures = ["requests", "req/s", "errors", "p50", "p90", "p99", "p99.9", "max", "late", "cache hits"]

    static func phases(_ run: BenchResult.Run, title: String) -> ReportTable {
        let laned = run.phases.contains { $0.lane != nil }
        let cpu = run.phases.first { $0.target_cpu != nil }?.target_cpu
        let header = (laned ? ["lane"] : []) + ["phase", "model", "conns"] + figures + (cpu != nil ? ["target CPU µs/req"] : [])
        let rows = run.phases.map { phase in
            (laned ? [phase.lane ?? ""] : []) + [
                "\(phase.name)\(phase.recorded ? "" : " (warm-up)")",
                "\(phase.model)\(phase.rate.map { " \($0)/s" } ?? "")", "\(phase.connections)",
            ] + numbers(phase) + (cpu != nil ? [phase.target_cpu?.per_request_us.map { String(format: "%.1f", $0) } ?? "–"] : [])
        }
        let note = cpu.map { "Target CPU: the target's user + system CPU during each phase (\($0.source)) over the phase's answered requests." }
        return ReportTable(title: title, note: note, header: header, rows: rows)
    }

    /// Each lane over the whole run and over the other lanes' phases; nil for a scenario without lanes.
    static func windows(_ run: BenchResult.Run) -> ReportTable? {
        guard let windows = run.windows, !windows.isEmpty else { return nil }
        return ReportTable(
            title: "Lanes and windows",
            note: "`lane` is the lane over the whole run; `lane@phase` counts the lane's requests that were due while another lane's phase ran "
                + "(req/s over that window). These names work in thresholds: `browse@sale.p99 < 25ms`.",
            header: ["window", "seconds"] + figures,
            rows: windows.map { [$0.name, String(format: "%.1f", $0.elapsed_seconds)] + numbers($0) })
    }

    /// Every request template of every recorded phase and window.
    static func routes(_ run: BenchResult.Run) -> ReportTable? {
        let views = run.phases.filter(\.recorded) + (run.windows ?? [])
        var rows: [[String]] = []
        for view in views {
            for route in view.templates.sorted(by: { $0.latency.p99 > $1.latency.p99 }) {
                let rate = view.elapsed_seconds > 0 ? Double(route.requests) / view.elapsed_seconds : 0
                rows.append([
                    view.name, route.name, Format.grouped(route.requests), String(format: "%.1f", rate),
                    "\(Format.grouped(route.errors))", Format.micros(route.latency.p50), Format.micros(route.latency.p90),
                    Format.micros(route.latency.p99), Format.micros(route.latency.max), route.cacheHitRatio.map(Format.percent) ?? "–",
                ])
            }
        }
        guard !rows.isEmpty else { return nil }
        return ReportTable(
            title: "Route by route", note: "Per phase (and window), the slowest route first.",
            header: ["phase", "route", "requests", "req/s", "errors", "p50", "p90", "p99", "max", "cache hits"], rows: rows)
    }

    /// Each recorded phase's latency by HTTP status (a flash sale's 202s and 422s); nil when only one status was seen.
    static func statuses(_ run: BenchResult.Run) -> ReportTable? {
        var rows: [[String]] = []
        for phase in run.phases.filter(\.recorded) {
            guard let byStatus = phase.status_latency, byStatus.count > 1 else { continue }
            for entry in byStatus {
                rows.append([
                    phase.name, entry.status, Format.grouped(entry.requests), Format.micros(entry.latency.p50), Format.micros(entry.latency.p90),
                    Format.micros(entry.latency.p99), Format.micros(entry.latency.max),
                ])
            }
        }
        guard !rows.isEmpty else { return nil }
        return ReportTable(
            title: "Latency by status", note: "Each answer status on its own: what a queued booking (202) and a refusal (422) cost.",
            header: ["phase", "status", "requests", "p50", "p90", "p99", "max"], rows: rows)
    }

    /// The status codes and transport errors of each recorded phase, in one line.
    static func responses(_ run: BenchResult.Run) -> String? {
        let parts = run.phases.filter(\.recorded).map { phase in
            let counts: [String] =
                phase.statuses.sorted { $0.key < $1.key }.map { "\($0.key)×\(Format.grouped($0.value))" }
                + phase.transport_errors.sorted { $0.key < $1.key }.map { "\($0.key)×\(Format.grouped($0.value))" }
            let versions = phase.protocolNote.map { " (\($0))" } ?? ""
            return "\(phase.name): " + counts.joined(separator: ", ") + versions
        }
        return parts.isEmpty ? nil : "Responses — " + parts.joined(separator: "; ")
    }

    static func faults(_ faults: [FaultRunner.Event]) -> ReportTable {
        ReportTable(
            title: "Faults injected", note: "Times count from the instant the load fired (a barrier phase fires once every connection is open).",
            header: ["at", "action", "took", "", "what happened"],
            rows: faults.map { fault in
                [
                    String(format: "%.1f s", fault.started_at), fault.action, String(format: "%.0f ms", fault.duration_ms), fault.ok ? "done" : "FAILED",
                    fault.detail.replacingOccurrences(of: "\n", with: " "),
                ]
            })
    }

    /// The ledger's counts, with the decision latency as the note; its violations are listed apart.
    static func ledger(_ ledger: LedgerReport) -> ReportTable {
        func optional(_ value: Int?) -> String { value.map(String.init) ?? "–" }
        let decision = ledger.decision_latency.map { decision in
            "Decision latency (request sent → decided): p50 \(Format.micros(decision.p50)), p90 \(Format.micros(decision.p90)), p99 \(Format.micros(decision.p99)), "
                + "max \(Format.micros(decision.max)); \(ledger.decided_per_second.map { String(format: "%.1f", $0) } ?? "–") decided bookings/s."
        }
        // Which invariants this run could check (without the accepted ids, only the count-based ones).
        let checked = ledger.invariants.map { invariants in
            "Checked: " + invariants.map { "\($0.name) \($0.passed ? "✔" : "✘")" }.joined(separator: "; ") + "."
        }
        let how = ledger.source.map { source in
            "Read from \(source)"
                + (ledger.method.map { $0 == .ids ? ", accepted bookings followed by id." : ", accepted bookings compared as counts (the 202s carry no id)." }
                    ?? ".")
        }
        let note = [how, checked, decision].compactMap { $0 }.joined(separator: " ")
        return ReportTable(
            title: "Ledger of event \(ledger.event_id): \(ledger.passed ? "holds" : "VIOLATED")", note: note.isEmpty ? nil : note,
            header: ["total", "available", "held", "bookings by status", "accepted (202)", "decided", "undecided", "phantom / excess", "oversold"],
            rows: [
                [
                    "\(ledger.total_tickets)", "\(ledger.available_tickets)", "\(ledger.held)", ledger.statusText, optional(ledger.accepted),
                    optional(ledger.decided), optional(ledger.undecided), optional(ledger.phantom ?? ledger.excess_bookings), "\(ledger.oversold)",
                ]
            ])
    }

    /// Who won the sale: each lane's users' share of the tickets held; nil without lanes of their own users.
    static func laneTickets(_ ledger: LedgerReport) -> ReportTable? {
        guard let lanes = ledger.lanes, !lanes.isEmpty else { return nil }
        return ReportTable(
            title: "Tickets won by lane",
            note: "Tickets held at the end by each lane's own users, read from the database"
                + (ledger.max_tickets_per_user.map { "; the most any one user holds: \($0)." } ?? "."),
            header: ["lane", "users", "tickets won", "share", "most one user holds"],
            rows: lanes.map { ["\($0.lane)", "\($0.users)", "\($0.tickets_won)", Format.percent($0.share), "\($0.max_per_user)"] })
    }

    /// Slow phases: connections the target closed, when, and the ones it left open; nil without slow phases.
    static func slowClients(_ run: BenchResult.Run) -> ReportTable? {
        let slow = run.phases.compactMap { phase in phase.slow_clients.map { (phase, $0) } }
        guard !slow.isEmpty else { return nil }
        return ReportTable(
            title: "Slow clients",
            note: "Connections that sent nothing or half a request and waited: how many the target closed, how long after the client's last byte, "
                + "and how many it left open until the phase ended.",
            header: ["phase", "sent", "opened", "closed by the target", "close after p50", "close after max", "still open at the end", "answered"],
            rows: slow.map { phase, report in
                [
                    phase.lane.map { "\($0)/\(phase.name)" } ?? phase.name, report.send, "\(report.opened)",
                    "\(report.closed_by_server)", report.close_after.map { Format.micros($0.p50) } ?? "–",
                    report.close_after.map { Format.micros($0.max) } ?? "–", "\(report.still_open)", "\(report.answered)",
                ]
            })
    }

    /// The Bench's own CPU, loop lag and run-queue wait per recorded phase and window; nil when none was measured.
    static func generator(_ run: BenchResult.Run) -> ReportTable? {
        let views = (run.phases.filter(\.recorded) + (run.windows ?? [])).filter { $0.generator != nil }
        guard !views.isEmpty else { return nil }
        return ReportTable(
            title: "The generator itself",
            note: "The Bench's CPU as a share of the cores it may use, how late its loops woke (lag), and how long they waited for a CPU. "
                + "It counts as the bottleneck at CPU ≥ 90 %, lag p99 > 10 ms or a CPU wait ≥ 10 %: the latencies there are partly its own.",
            header: ["phase or window", "cores", "CPU mean", "CPU max", "lag p99", "lag max", "CPU wait", "verdict"],
            rows: views.map { view in
                let check = view.generator!
                return [
                    view.name, "\(check.cores_allowed)", Format.percent(check.cpu_mean), Format.percent(check.cpu_max), Format.micros(check.lag_p99_us),
                    Format.micros(check.lag_max_us), Format.percent(check.runqueue_wait), check.saturated ? "BOTTLENECK" : "ok",
                ]
            })
    }

    /// What readers were shown of the watched event against the truth; the note says how the truth is read.
    static func staleness(_ report: StalenessReport) -> ReportTable {
        func ms(_ value: Double?) -> String { value.map { String(format: "%.1f ms", $0) } ?? "–" }
        let routes = report.reads_by_request.sorted { $0.key < $1.key }.map { "\($0.key) \(Format.grouped(UInt64($0.value)))" }.joined(separator: ", ")
        return ReportTable(
            title: "Staleness of event \(report.event_id)",
            note: "Stale: shown more tickets than the truth when the request left (staleness: how long the truth had been lower). "
                + "Understated: shown fewer than the truth when the answer arrived. Truth from the booking rows' decision times "
                + "(\(report.changes) changes). Reads by request: \(routes.isEmpty ? "none" : routes).",
            header: ["reads", "stale", "max staleness", "p99 staleness", "understated", "shown after sold out", "latest after sold out"],
            rows: [
                [
                    Format.grouped(UInt64(report.reads)), Format.grouped(UInt64(report.stale)), ms(report.max_staleness_ms), ms(report.p99_staleness_ms),
                    Format.grouped(UInt64(report.understated)), Format.grouped(UInt64(report.shown_after_sold_out)), ms(report.shown_after_sold_out_max_ms),
                ]
            ])
    }

    private static func numbers(_ phase: PhaseResult) -> [String] {
        [
            Format.grouped(phase.requests), String(format: "%.1f", phase.requests_per_second),
            "\(Format.grouped(phase.errors)) (\(Format.percent(phase.error_rate)))",
            Format.micros(phase.latency.p50), Format.micros(phase.latency.p90), Format.micros(phase.latency.p99),
            Format.micros(phase.latency.p999), Format.micros(phase.latency.max), "\(phase.late)", phase.cacheHitRatio.map(Format.percent) ?? "–",
        ]
    }
}

/// Escaping for text placed in HTML or XML, attribute values included: the five special characters as entities,
/// newline and tab as character references, other control characters (not allowed in XML 1.0) dropped.
enum MarkupText {
    static func escape(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            case "\n", "\t": escaped += "&#\(scalar.value);"
            default: if scalar.value >= 0x20 { escaped.unicodeScalars.append(scalar) }
            }
        }
        return escaped
    }
}
