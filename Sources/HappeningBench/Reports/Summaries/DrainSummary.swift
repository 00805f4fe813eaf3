import Foundation
import HappeningCommandLine

/// scripts/drain-bench.sh's summary (results/drain-bench.{md,json}, `make demo`'s results/demo-drain): how fast the
/// worker decides a full queue per strategy, on one hot event and over 50, beside pgbench's TPS of the same transaction
/// on one row. The JSON is what `make demo`'s summary and the anchors read back.
package struct DrainSummary: ScriptSummary {
    package struct Document: Codable, Sendable {
        var measured_at: String
        var jobs_per_run: Int
        var pgbench_tps: Int
        var runs: [Run]
    }

    /// One strategy draining one shape of queue.
    package struct Run: Codable, Sendable, Equatable {
        var strategy: String
        /// `hot` (one event) or `spread` (50 events).
        var events: String
        var decided: Int
        var seconds: Double
        var decided_per_second: Int
        var times_pgbench: Double
        /// `ok`, or `OVERSOLD` when the Bench's ledger check failed.
        var ledger: String

        /// A row of drain-bench.sh's: `STRATEGY|SHAPE|DECIDED|SECONDS|DECIDED_PER_SECOND|LEDGER`.
        init(row: String, pgbenchTPS: Int) throws {
            let fields = row.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 6, let decided = Int(fields[2]), let seconds = Double(fields[3]), let rate = Int(fields[4]) else {
                throw UsageError("a drain row is STRATEGY|SHAPE|DECIDED|SECONDS|DECIDED_PER_SECOND|LEDGER, not '\(row)'")
            }
            (strategy, events, self.decided, self.seconds, decided_per_second, ledger) = (fields[0], fields[1], decided, seconds, rate, fields[5])
            times_pgbench = Format.rounded(Double(rate) / Double(max(1, pgbenchTPS)), places: 2)
        }
    }

    /// The worker's flags and pgbench's clients, as the Markdown states them.
    package struct Settings: Sendable {
        var prefetch: Int
        var concurrency: Int
        var batch: Int
        var pgbenchClients: Int

        package init(prefetch: Int, concurrency: Int, batch: Int, pgbenchClients: Int) {
            (self.prefetch, self.concurrency, self.batch, self.pgbenchClients) = (prefetch, concurrency, batch, pgbenchClients)
        }
    }

    package let document: Document
    let settings: Settings
    let measured: MeasuredOn

    package init(rows: [String], jobs: Int, pgbenchTPS: Int, settings: Settings, measured: MeasuredOn = .now()) throws {
        let runs = try rows.map { try Run(row: $0, pgbenchTPS: pgbenchTPS) }
        document = Document(measured_at: measured.at, jobs_per_run: jobs, pgbench_tps: pgbenchTPS, runs: runs)
        (self.settings, self.measured) = (settings, measured)
    }

    package var markdown: String {
        let (d, s) = (document, settings)
        let rows = d.runs.map { run in
            "| \(run.strategy) | \(run.events) | \(run.decided) | \(String(format: "%.2f", run.seconds)) | \(run.decided_per_second) | "
                + "\(String(format: "%.2f", Double(run.decided_per_second) / Double(max(1, d.pgbench_tps)))) | \(run.ledger) |"
        }
        return
            ([
                "# Booking drain rate (happening-worker, release build)", "",
                "Measured \(d.measured_at) on \(measured.cores) cores (\(measured.arch)); PostgreSQL, RabbitMQ and the worker on the same machine.",
                "\(d.jobs_per_run) queued jobs per run (1 ticket each, every one bookable), worker "
                    + "`--prefetch \(s.prefetch) --concurrency \(s.concurrency) --batch \(s.batch)`.",
                "hot = one event; spread = 50 events. Command: `scripts/drain-bench.sh`.", "",
                "pgbench, the same `SELECT … FOR UPDATE` + `UPDATE` + `INSERT` transaction on one row, \(s.pgbenchClients) clients: **\(d.pgbench_tps) TPS**",
                "",
                "| strategy | events | jobs decided | seconds | decided/s | × pgbench | ledger |", "|---|---|---|---|---|---|---|",
            ] + rows).joined(separator: "\n") + "\n"
    }
}
