import Foundation
import HappeningCommandLine

/// `make fleet`'s summary (results/fleet.{md,json}; results/fleet-priority-P for generators at nice P): the merged
/// flash sale of the shards, each shard's connections, first send and memory, the start skew and the one ledger.
package struct FleetSummary: ScriptSummary {
    package struct Document: Codable, Sendable {
        var measured_at: String
        var commit: String
        var machine: CoresAndArch
        var command = "make fleet (scripts/fleet.sh)"
        var users: Int
        var tickets: Int
        var shards: Int
        var requests: UInt64
        var statuses: [String: UInt64]
        var latency_ms: Latency
        @NullWhenNil var start_skew_ms: Double?
        var ledger: Ledger
        @NullWhenNil var memory_peak_per_connection_bytes_worst_shard: UInt64?
        var descriptor_limit_per_process: String
        var generator_priority: String
        @NullWhenNil var threads_per_shard: Int?
        var per_shard: [Shard]
        var passed: Bool
        var merged_report: String
        var goals = Goals()

        struct Latency: Codable, Sendable {
            var p50: Double
            var p99: Double
            var max: Double
        }

        /// The merged ledger's figures; `passed` is the ledger's own verdict (no violation), null without a ledger.
        struct Ledger: Codable, Sendable {
            @NullWhenNil var total_tickets: Int?
            @NullWhenNil var held: Int?
            @NullWhenNil var available_tickets: Int?
            @NullWhenNil var accepted: Int?
            @NullWhenNil var decided: Int?
            @NullWhenNil var oversold: Int?
            @NullWhenNil var passed: Bool?
            @NullWhenNil var violations: [String]?
        }

        struct Goals: Codable, Sendable {
            var start_skew_ms_at_most = 5
            var memory_per_connection_bytes_at_most = 16 * 1_024
            var ledger_holds = true
        }
    }

    /// One shard's part of the sale.
    struct Shard: Codable, Sendable {
        var shard: Int
        var connections: Int
        var requests: UInt64
        var statuses: [String: UInt64]
        @NullWhenNil var first_sent_micros: Int64?
        @NullWhenNil var last_sent_micros: Int64?
        var p50_ms: Double
        var p99_ms: Double
        @NullWhenNil var rss_peak_bytes: UInt64?
        @NullWhenNil var peak_per_connection_bytes: UInt64?
        @NullWhenNil var added_per_connection_bytes: UInt64?
        @NullWhenNil var generator_cpu_max: Double?

        init?(_ result: BenchResult) {
            guard let run = result.runs.first, let index = run.shard?.index, let phase = run.phases.first(where: \.recorded) else { return nil }
            (shard, connections, requests, statuses) = (index, phase.connections, phase.requests, phase.statuses)
            (first_sent_micros, last_sent_micros) = (phase.first_sent_micros, phase.last_sent_micros)
            (p50_ms, p99_ms) = (Double(phase.latency.p50) / 1_000, Double(phase.latency.p99) / 1_000)
            (rss_peak_bytes, peak_per_connection_bytes) = (phase.memory?.rss_peak_bytes, phase.memory?.peak_per_connection_bytes)
            (added_per_connection_bytes, generator_cpu_max) = (phase.memory?.added_per_connection_bytes, phase.generator?.cpu_max)
        }
    }

    /// How the fleet was run: its size, the commit, the generators' scheduling and the descriptor limit.
    package struct Settings: Sendable {
        var users: Int
        var tickets: Int
        var commit: String
        /// `realtime` or a nice value.
        var priority: String
        /// Load loops per shard; nil: the default.
        var threads: Int?
        var descriptorLimit: String

        package init(users: Int, tickets: Int, commit: String, priority: String, threads: Int?, descriptorLimit: String) {
            (self.users, self.tickets, self.commit, self.priority, self.threads, self.descriptorLimit) = (
                users, tickets, commit, priority, threads, descriptorLimit
            )
        }

        /// results/fleet for real-time generators (the default), results/fleet-priority-P otherwise, so both can be read side by side.
        package var out: String { priority == "realtime" ? "results/fleet" : "results/fleet-priority-\(priority)" }
    }

    package let document: Document

    init(merged: BenchResult, mergedPath: String, shards: [BenchResult], settings: Settings, measured: MeasuredOn) throws {
        guard let run = merged.runs.first, let phase = run.phases.first(where: \.recorded) else { throw UsageError("\(mergedPath): no recorded phase") }
        let parts = shards.compactMap(Shard.init)
        let ledger = run.ledger
        document = Document(
            measured_at: measured.at, commit: settings.commit, machine: measured.coresAndArch, users: settings.users, tickets: settings.tickets,
            shards: parts.count, requests: phase.requests, statuses: phase.statuses,
            latency_ms: .init(p50: Double(phase.latency.p50) / 1_000, p99: Double(phase.latency.p99) / 1_000, max: Double(phase.latency.max) / 1_000),
            start_skew_ms: phase.shard_start_skew_ms,
            ledger: .init(
                total_tickets: ledger?.total_tickets, held: ledger?.held, available_tickets: ledger?.available_tickets, accepted: ledger?.accepted,
                decided: ledger?.decided, oversold: ledger?.oversold, passed: ledger?.passed, violations: ledger?.violations),
            memory_peak_per_connection_bytes_worst_shard: parts.isEmpty ? nil : parts.map { $0.peak_per_connection_bytes ?? 0 }.max(),
            descriptor_limit_per_process: settings.descriptorLimit, generator_priority: settings.priority, threads_per_shard: settings.threads,
            per_shard: parts, passed: merged.passed, merged_report: mergedPath)
    }

    /// From the merged result and every shard's result in `work`/shard-*/.
    package init(mergedPath: String, work: String, settings: Settings, measured: MeasuredOn = .now()) throws {
        let merged = try BenchResult.load(mergedPath)
        let folders = ((try? FileManager.default.contentsOfDirectory(atPath: work)) ?? []).filter { $0.hasPrefix("shard-") }
        let paths = folders.flatMap { folder in
            ((try? FileManager.default.contentsOfDirectory(atPath: "\(work)/\(folder)")) ?? []).filter { $0.hasSuffix(".json") }.map {
                "\(work)/\(folder)/\($0)"
            }
        }
        let shards = paths.sorted().compactMap { SummaryFiles.result($0) }
        try self.init(merged: merged, mergedPath: mergedPath, shards: shards, settings: settings, measured: measured)
    }

    package var markdown: String {
        let d = document
        let scheduling =
            d.generator_priority == "realtime"
            ? "real-time (SCHED_FIFO 1: a core whenever they have work, as on hosts of their own; FLEET_GENERATOR_PRIORITY=0 for "
                + "equal footing with the server tier)." : "at nice \(d.generator_priority)."
        let merged = ((d.merged_report as NSString).lastPathComponent as NSString).deletingPathExtension
        return
            ([
                "# The generator fleet, rehearsed on network-namespace hosts", "",
                "Measured \(d.measured_at) on \(d.machine.cores) cores (\(d.machine.arch)), commit \(d.commit), with `make fleet`: six network",
                "namespaces on one bridge (HAProxy, HTTP mode, several processes on one SO_REUSEPORT port, in front of two release servers;",
                "PostgreSQL, Redis, RabbitMQ and three for-update workers; four generator hosts). A flash sale of",
                "\(Format.grouped(d.users)) users for \(d.tickets) tickets: `happening-bench setup` once, then \(d.shards) shards (`--shard I/\(d.shards)`,",
                "\(d.shards / 4) per generator host, \(d.threads_per_shard.map(String.init) ?? "default") load loop each; a process may hold "
                    + "\(d.descriptor_limit_per_process) descriptors here) with one",
                "`--start-at`, then `merge` (one ledger check over all shards). The generator hosts' processes ran " + scheduling, "", verdict, "",
                "| shard | connections | requests | answers | first send after the earliest shard's | first to last send | p99 | peak RSS | RSS ÷ connections "
                    + "| added ÷ connections |",
                "|---|---|---|---|---|---|---|---|---|---|",
            ] + shardRows + [
                "", "The merged report: [\(merged).md](\(merged).md) (and `.html`, `.json`).", "",
                "Latency runs from the firing instant; every generator, server and service shares this machine's two cores, so the",
                "latencies say how this machine copes with \(Format.grouped(d.users)) simultaneous bookings, not how a cluster would. RSS ÷ connections is the",
                "whole process (its fixed part included) over its open connections; added ÷ connections is what the phase added.", "",
            ]).joined(separator: "\n")
    }

    private var verdict: String {
        let (d, ledger) = (document, document.ledger)
        let text = { (value: Int?) in value.map(String.init) ?? "None" }
        return "**\(d.passed ? "PASS" : "FAIL")**: \(Format.grouped(d.requests)) requests (\(Self.answers(d.statuses))); start skew across shards "
            + "**\(d.start_skew_ms.map { String(format: "%.2f ms", $0) } ?? "–")** (goal ≤ 5 ms); the Bench's resident memory at most "
            + "**\(Self.kib(d.memory_peak_per_connection_bytes_worst_shard)) per open connection** (goal ≤ 16 KiB); ledger: \(text(ledger.held)) of "
            + "\(text(ledger.total_tickets)) tickets held, \(text(ledger.accepted)) accepted, \(text(ledger.decided)) decided, oversold \(text(ledger.oversold))."
    }

    private var shardRows: [String] {
        let earliest = document.per_shard.compactMap(\.first_sent_micros).min()
        return document.per_shard.map { shard in
            var (offset, spread) = ("–", "–")
            if let first = shard.first_sent_micros, let earliest { offset = String(format: "%.2f ms", Double(first - earliest) / 1_000) }
            if let first = shard.first_sent_micros, let last = shard.last_sent_micros { spread = String(format: "%.1f ms", Double(last - first) / 1_000) }
            return "| \(shard.shard) | \(Format.grouped(shard.connections)) | \(Format.grouped(shard.requests)) | \(Self.answers(shard.statuses)) "
                + "| \(offset) | \(spread) | \(String(format: "%.1f ms", shard.p99_ms)) | \(Self.mib(shard.rss_peak_bytes)) | "
                + "\(Self.kib(shard.peak_per_connection_bytes)) | \(Self.kib(shard.added_per_connection_bytes)) |"
        }
    }

    /// `202×100, 422×39,900`: answers by status, lowest first.
    static func answers(_ statuses: [String: UInt64]) -> String {
        statuses.sorted { $0.key < $1.key }.map { "\($0.key)×\(Format.grouped($0.value))" }.joined(separator: ", ")
    }

    static func kib(_ bytes: UInt64?) -> String { bytes.map { String(format: "%.1f KiB", Double($0) / 1_024) } ?? "–" }
    static func mib(_ bytes: UInt64?) -> String { bytes.map { String(format: "%.1f MiB", Double($0) / 1_048_576) } ?? "–" }
}
