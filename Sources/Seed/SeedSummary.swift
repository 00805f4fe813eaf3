import Foundation

/// What a run did, printed as a table or (with `--json`) as JSON with the same fields.
struct SeedSummary: Codable, Sendable {
    var seed: UInt64
    var anchor_date: String
    var database: String
    var reset: Bool
    var interrupted = false
    var tables: [TableLoad] = []
    /// Rebuilding deferred indexes and foreign keys, and ANALYZE (with `--reset`); or, after appending to live
    /// tables, rebuilding the GiST indexes a large append degraded (`reindexed`) and ANALYZE.
    var index_seconds: Double?
    /// After an append: the GiST indexes rebuilt (empty when the append was too small to matter).
    var reindexed: [String]?
    var total_rows: Int = 0
    var seconds: Double = 0
    var rows_per_second: Int = 0
    var admin_email: String?
    /// Every seeded account's password: the published development one on a development stack (`DEV_MODE=1`), else
    /// nil (accounts have no usable password).
    var dev_password: String?
    var bench_users: Int?
    var tokens_file: String?
    var flash_sale_event: FlashSaleEvent?
    /// With `--min-events`: how many events the database held before (the seeder added only what was missing).
    var events_present: Int?
    var csv_files: [String]?

    struct FlashSaleEvent: Codable, Sendable {
        var id: String
        var tickets: Int
        var price: String
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    func text() -> String {
        var lines = [
            "happening-seed: seed \(seed), anchor \(anchor_date), \(database)\(reset ? " (reset)" : "")\(interrupted ? " — INTERRUPTED, whole batches kept" : "")"
        ]
        if !tables.isEmpty {
            lines.append("  table                     rows      seconds     rows/s")
            for table in tables {
                lines.append(
                    "  " + table.table.padding(toLength: 18, withPad: " ", startingAt: 0)
                        + table.rows.grouped.leftPadded(14) + String(format: "%13.2f", table.seconds) + table.rows_per_second.grouped.leftPadded(11))
            }
            if let index_seconds {
                let what =
                    reset
                    ? "indexes + foreign keys + ANALYZE"
                    : (reindexed ?? []).isEmpty ? "ANALYZE" : "REINDEX CONCURRENTLY \((reindexed ?? []).joined(separator: ", ")) + ANALYZE"
                lines.append("  \(what): \(String(format: "%.2f", index_seconds)) s")
            }
            lines.append("  total: \(total_rows.grouped) rows in \(String(format: "%.2f", seconds)) s (\(rows_per_second.grouped) rows/s)")
        }
        if let events_present {
            let added = tables.first { $0.table == "events" }?.rows ?? 0
            lines.append("  events: \(events_present.grouped) present, \(added.grouped) added")
        }
        if let admin_email {
            lines.append(
                "  admin: \(admin_email)  " + (dev_password.map { "(every seeded account's dev password: \($0))" } ?? "(no password: DEV_MODE is not 1)"))
        }
        if let bench_users { lines.append("  bench users: \(bench_users)\(tokens_file.map { ", tokens in \($0)" } ?? "")") }
        if let event = flash_sale_event { lines.append("  flash-sale event: \(event.id) (\(event.tickets) tickets at ₹\(event.price))") }
        if let csv_files { lines.append("  CSV written: \(csv_files.joined(separator: ", "))") }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
