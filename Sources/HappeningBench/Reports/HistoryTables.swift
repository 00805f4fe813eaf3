import Foundation

extension RunTables {
    /// "What customers were told": each check with its counts, then the witnesses of those that broke.
    static func history(_ report: CustomerHistoryReport) -> [ReportTable] {
        func counts(_ values: [String: Int]) -> String {
            values.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \(Format.grouped(UInt64($0.value)))" }.joined(separator: " · ")
        }
        let summary = ReportTable(
            title: "What customers were told (event \(report.event_id))",
            note: "Answers to booking requests: \(report.answers.isEmpty ? "none" : counts(report.answers)). Accepted bookings followed to their "
                + "outcome on the status route, as each customer would ask: \(Format.grouped(UInt64(report.followed)))"
                + (report.told.isEmpty ? "" : " (last told: \(counts(report.told)))") + ". Checked against the booking rows in PostgreSQL; "
                + "a value or an outcome may be up to \(String(format: "%.0f", report.bound_ms)) ms late.",
            header: ["check", "checked", "violations", "first witness"],
            rows: report.checks.map { check in
                [
                    check.name, check.skipped == nil ? check.checkedText : "skipped",
                    check.skipped == nil ? Format.grouped(UInt64(check.violations)) : "–", check.skipped ?? check.witnesses.first.map(describe) ?? "–",
                ]
            })
        let broken = report.checks.filter { !$0.witnesses.isEmpty }
        guard !broken.isEmpty else { return [summary] }
        let witnesses = ReportTable(
            title: "Witnesses (the earliest \(HistoryChecks.witnessLimit) of each check)", note: nil,
            header: ["check", "what", "user", "booking", "request id", "sent (UTC)", "answered after"],
            rows: broken.flatMap { check in
                check.witnesses.map { witness in
                    [
                        check.metric, witness.what, witness.user_id ?? "–", witness.booking_id ?? "–", witness.request_id ?? "–",
                        witness.sent_micros.map(utc) ?? "–",
                        both(witness.sent_micros, witness.received_micros).map { String(format: "%.1f ms", Double($1 - $0) / 1_000) } ?? "–",
                    ]
                }
            })
        return [summary, witnesses]
    }

    /// One witness in a line: what happened, to whom, when.
    static func describe(_ witness: HistoryWitness) -> String {
        [
            witness.what, witness.user_id.map { "user \($0)" }, witness.booking_id.map { "booking \($0)" },
            witness.request_id.map { "request \($0)" }, witness.sent_micros.map { "sent \(utc($0))" },
        ]
        .compactMap { $0 }.joined(separator: "; ")
    }

    /// µs since 1970 as `HH:MM:SS.ffffff` UTC.
    private static func utc(_ micros: Int64) -> String {
        let seconds = micros / 1_000_000
        let day = ((seconds % 86_400) + 86_400) % 86_400
        return String(format: "%02d:%02d:%02d.%06d", day / 3_600, day / 60 % 60, day % 60, Int(((micros % 1_000_000) + 1_000_000) % 1_000_000))
    }
}

private func both(_ a: Int64?, _ b: Int64?) -> (Int64, Int64)? {
    guard let a, let b else { return nil }
    return (a, b)
}
