import Foundation

/// scripts/anchors.sh's summary (results/anchors.{md,json}): our parts against their physical limits, each from the file
/// its own script wrote: the generator against wrk (compare-wrk.json), the cached read against nginx
/// (server-vs-nginx.json), the batch drain against pgbench (drain-bench.json), the seeder against `psql \copy`
/// (seed-vs-copy.json). A missing file makes its lines say so.
package struct Anchors: ScriptSummary {
    package struct Document: Codable, Sendable {
        var measured_at: String
        var anchors: [Anchor]
    }

    /// One anchor: our figure, the limit's, the ratio and whether it met its goal.
    struct Anchor: Codable, Sendable {
        var name: String
        var ours: String
        var limit: String
        @NullWhenNil var ratio: Double?
        var goal: String
        var met: Bool
    }

    /// The four files, each nil when missing or unreadable.
    package struct Inputs {
        var wrk: SummaryInput<GeneratorComparison.Document>
        var nginx: SummaryInput<NginxComparison.Document>
        var drain: SummaryInput<DrainSummary.Document>
        var seed: SummaryInput<SeedComparison.Document>

        package init(wrk: String, nginx: String, drain: String, seed: String) {
            self.init(wrk: .init(reading: wrk), nginx: .init(reading: nginx), drain: .init(reading: drain), seed: .init(reading: seed))
        }

        init(
            wrk: SummaryInput<GeneratorComparison.Document>, nginx: SummaryInput<NginxComparison.Document>, drain: SummaryInput<DrainSummary.Document>,
            seed: SummaryInput<SeedComparison.Document>
        ) {
            (self.wrk, self.nginx, self.drain, self.seed) = (wrk, nginx, drain, seed)
        }
    }

    package let document: Document
    let inputs: Inputs
    let cores: Int

    package init(_ inputs: Inputs, measured: MeasuredOn = .now()) {
        var anchors = Self.generator(inputs.wrk)
        anchors.append(Self.cachedRead(inputs.nginx))
        anchors.append(Self.drain(inputs.drain))
        anchors.append(Self.seeder(inputs.seed))
        document = Document(measured_at: measured.at, anchors: anchors)
        (self.inputs, cores) = (inputs, measured.cores)
    }

    private static func generator(_ input: SummaryInput<GeneratorComparison.Document>) -> [Anchor] {
        let (rate, cpu) = ("generator vs wrk (req/s)", "generator vs wrk (CPU per request)")
        guard let wrk = input.value else { return [missing(rate, goal: "≥ 0.9", input.path), missing(cpu, goal: "≤ 1.2", input.path)] }
        return [
            Anchor(
                name: rate, ours: "\(Format.grouped(wrk.bench.rps, decimals: 0)) req/s", limit: "\(Format.grouped(wrk.wrk.rps, decimals: 0)) req/s",
                ratio: wrk.ratio_rps, goal: "≥ 0.9", met: wrk.ratio_rps >= 0.9),
            Anchor(
                name: cpu, ours: String(format: "%.3f s/100k", wrk.bench.cpu_seconds_per_100k),
                limit: String(format: "%.3f s/100k", wrk.wrk.cpu_seconds_per_100k),
                ratio: wrk.ratio_cpu_per_request, goal: "≤ 1.2", met: wrk.ratio_cpu_per_request <= 1.2),
        ]
    }

    private static func cachedRead(_ input: SummaryInput<NginxComparison.Document>) -> Anchor {
        let name = "cached GET vs nginx"
        guard let cached = input.value?.patterns["cached-get"] else { return missing(name, goal: "≥ 0.5", input.path) }
        return Anchor(
            name: name, ours: "\(Format.grouped(cached.server.rps, decimals: 0)) req/s", limit: "\(Format.grouped(cached.nginx.rps, decimals: 0)) req/s",
            ratio: cached.rps_ratio, goal: "≥ 0.5", met: cached.rps_ratio >= 0.5)
    }

    private static func drain(_ input: SummaryInput<DrainSummary.Document>) -> Anchor {
        let name = "batch drain (hot event) vs pgbench"
        guard let drain = input.value, let batch = drain.runs.first(where: { $0.strategy == "batch" && $0.events == "hot" }), drain.pgbench_tps > 0 else {
            return missing(name, goal: "≥ 3", input.path)
        }
        let ratio = Double(batch.decided_per_second) / Double(drain.pgbench_tps)
        return Anchor(
            name: name, ours: "\(Format.grouped(batch.decided_per_second)) decided/s", limit: "\(Format.grouped(drain.pgbench_tps)) TPS",
            ratio: Format.rounded(ratio, places: 2), goal: "≥ 3", met: ratio >= 3)
    }

    private static func seeder(_ input: SummaryInput<SeedComparison.Document>) -> Anchor {
        let name = "seeder vs psql \\copy (events)"
        guard let seed = input.value else { return missing(name, goal: "≥ 0.9", input.path) }
        return Anchor(
            name: name, ours: "\(Format.grouped(seed.seeder.median_events_rows_per_second)) rows/s",
            limit: "\(Format.grouped(seed.psql_copy.median_rows_per_second)) rows/s", ratio: seed.ratio_events_rate, goal: "≥ 0.9",
            met: seed.ratio_events_rate >= 0.9)
    }

    private static func missing(_ name: String, goal: String, _ path: String) -> Anchor {
        Anchor(name: name, ours: "no result (\(path))", limit: "–", ratio: nil, goal: goal, met: false)
    }

    package var markdown: String {
        let rows = document.anchors.map { anchor in
            "| \(anchor.name) | \(anchor.ours) | \(anchor.limit) | **\(anchor.ratio.map { "\($0)" } ?? "–")** | \(anchor.goal) | \(anchor.met ? "met" : "MISSED") |"
        }
        let files = [inputs.wrk.path, inputs.nginx.path, inputs.drain.path, inputs.seed.path].map { path in
            let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            return "[\(name)](\(name).md)"
        }
        return
            ([
                "# Anchors: our parts against their physical limits", "",
                "Measured \(document.measured_at) on \(cores) cores with `scripts/anchors.sh` (one run, one machine; details in each linked file).", "",
                "| anchor | ours | limit | ratio | goal | |", "|---|---|---|---|---|---|",
            ] + rows + ["", floorLine, "", "Files: \(files.joined(separator: ", ")).", ""]).joined(separator: "\n")
    }

    /// The cached read against the server's own no-work route: how much of the HTTP stack's floor it keeps.
    private var floorLine: String {
        guard let patterns = inputs.nginx.value?.patterns, let cached = patterns["cached-get"], let floor = patterns["floor"], floor.server.rps > 0 else {
            return "Cached GET: no result (\(inputs.nginx.path))."
        }
        return "Cached GET: the same server's no-work route (`GET /api/health/live`, the floor of its HTTP stack) reaches "
            + "\(Format.grouped(floor.server.rps, decimals: 0)) req/s = \(floor.rps_ratio)× nginx; the cached read runs at "
            + "\(Format.rounded(cached.server.rps / floor.server.rps, places: 3)) of that floor."
    }

    package var printed: String {
        markdown + "\n"
            + document.anchors.map { anchor in
                "\(anchor.name): \(anchor.ours) vs \(anchor.limit) = \(anchor.ratio.map { "\($0)" } ?? "–")× (goal \(anchor.goal)) \(anchor.met ? "met" : "MISSED")"
            }.joined(separator: "\n") + "\n"
    }
}
