import Foundation
import HappeningCommandLine

/// scripts/measure-seed.sh's summary (results/seed-vs-copy.{md,json}): the seeder's events COPY against `psql \copy` of
/// the same rows into the same table state, medians of the runs, and the seeder's whole `--reset` run. The anchors read
/// the JSON back.
package struct SeedComparison: ScriptSummary {
    /// What `happening-seed --json` prints that this summary reads (the seeder's own type lives in its executable).
    package struct SeedRun: Codable, Sendable {
        var seconds: Double
        var index_seconds: Double?
        var tables: [Table]

        struct Table: Codable, Sendable {
            var table: String
            var seconds: Double
        }

        /// The events table's COPY seconds.
        var eventsSeconds: Double? { tables.first { $0.table == "events" }?.seconds }
    }

    package struct Document: Codable, Sendable {
        var measured_at: String
        var machine: Machine
        var command = "scripts/measure-seed.sh"
        var events: Int
        var users: Int
        var seed: Int
        var anchor_date: String
        var seeder: Seeder
        var psql_copy: Copy
        var ratio_events_rate: Double
        var goals = Goals()
        var verdict: String
    }

    struct Machine: Codable, Sendable {
        var cores: Int
        var memory_gib: Int
        var arch: String
        /// `SHOW server_version`.
        var postgres: String
    }

    struct Seeder: Codable, Sendable {
        var total_seconds: [Double]
        var events_copy_seconds: [Double]
        var index_seconds: [Double]
        var median_total_seconds: Double
        var median_events_rows_per_second: Int
        var median_total_rows_per_second: Int
        var format = "binary COPY, 50,000 rows per batch"
    }

    struct Copy: Codable, Sendable {
        var seconds: [Double]
        var median_seconds: Double
        var median_rows_per_second: Int
        var format = #"CSV, one \copy"#
    }

    struct Goals: Codable, Sendable {
        var ratio_at_least = 0.9
        var total_seconds_under = 20
    }

    /// What was loaded: the rows, and the seed and anchor date that made them.
    package struct Settings: Sendable {
        var events: Int
        var users: Int
        var seed: Int
        var anchorDate: String
        var postgres: String

        package init(events: Int, users: Int, seed: Int, anchorDate: String, postgres: String) {
            (self.events, self.users, self.seed, self.anchorDate, self.postgres) = (events, users, seed, anchorDate, postgres)
        }
    }

    package let document: Document

    /// `seederRuns`: each run's `happening-seed --json` output; `copySeconds`: each `psql \copy`'s seconds.
    package init(seederRuns: [SeedRun], copySeconds: [Double], settings: Settings, measured: MeasuredOn = .now()) throws {
        let copies = seederRuns.compactMap(\.eventsSeconds)
        guard copies.count == seederRuns.count, let seederCopy = copies.median, let copy = copySeconds.median,
            let total = seederRuns.map(\.seconds).median
        else { throw UsageError("seed-vs-copy: every seeder run needs its events table, and there must be a \\copy run") }
        let events = Double(settings.events)
        let seeder = Seeder(
            total_seconds: seederRuns.map(\.seconds), events_copy_seconds: copies, index_seconds: seederRuns.map { $0.index_seconds ?? 0 },
            median_total_seconds: total, median_events_rows_per_second: Int(events / seederCopy),
            median_total_rows_per_second: Int((events + Double(settings.users)) / total))
        let ratio = Format.rounded(copy / seederCopy, places: 2)
        document = Document(
            measured_at: measured.at,
            machine: Machine(cores: measured.cores, memory_gib: measured.memoryGiB, arch: measured.arch, postgres: settings.postgres),
            events: settings.events, users: settings.users, seed: settings.seed, anchor_date: settings.anchorDate, seeder: seeder,
            psql_copy: Copy(seconds: copySeconds, median_seconds: copy, median_rows_per_second: Int(events / copy)), ratio_events_rate: ratio,
            verdict: ratio >= 0.9 && total < 20 ? "met" : "missed")
    }

    package var markdown: String {
        let (d, seeder, copy) = (document, document.seeder, document.psql_copy)
        let list = { (seconds: [Double]) in seconds.map { String(format: "%.2f", $0) }.joined(separator: ", ") }
        let rate = { (seconds: Double?, rows: Int) in String(format: "%.2f s = ", seconds ?? 0) + "\(Format.grouped(rows)) rows/s" }
        return [
            "# Seeder vs `psql \\copy`", "",
            "Measured \(d.measured_at) on \(d.machine.cores) cores / \(d.machine.memory_gib) GiB (\(d.machine.arch)), PostgreSQL \(d.machine.postgres), "
                + "release build.",
            "Command: `scripts/measure-seed.sh` (\(seeder.total_seconds.count) runs each; medians). Same database server, same "
                + "\(Format.grouped(d.events)) event rows",
            "(seed \(d.seed), anchor \(d.anchor_date)), loaded into the same table state (secondary indexes and foreign keys deferred).", "",
            "| | median | runs (s) |", "|---|---|---|",
            "| `happening-seed` events COPY (binary, generated on the fly) | "
                + "**\(rate(seeder.events_copy_seconds.median, seeder.median_events_rows_per_second))** | \(list(seeder.events_copy_seconds)) |",
            "| `psql \\copy` of the same rows from CSV | **\(rate(copy.median_seconds, copy.median_rows_per_second))** | \(list(copy.seconds)) |",
            "| ratio (seeder rate / `\\copy` rate) | **\(d.ratio_events_rate)×** (goal ≥ 0.9×) | |",
            "| `happening-seed --reset` whole run: \(Format.grouped(d.events)) events + \(Format.grouped(d.users)) users + hosts' bank accounts, "
                + "indexes, FKs, ANALYZE | **\(rate(seeder.median_total_seconds, seeder.median_total_rows_per_second))** (goal < 20 s) | "
                + "\(list(seeder.total_seconds)) |",
            "| of which rebuilding indexes + foreign keys + ANALYZE | \(String(format: "%.2f", seeder.index_seconds.median ?? 0)) s | "
                + "\(list(seeder.index_seconds)) |",
            "", "Verdict: **\(d.verdict)**.", "",
        ].joined(separator: "\n")
    }
}
