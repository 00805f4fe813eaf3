import Foundation
import HappeningHTTP

/// The target's CPU time, read before and after each phase, so a report can say what a request cost the server and
/// not only how long it took: from `/proc/<pid>/stat` of processes on this machine (`--target-pid`, and the server a
/// `gate` starts), or from `process_cpu_seconds_total` in a Prometheus text endpoint (`--target-metrics URL`: a
/// server elsewhere that exposes it, as Happening's `/metrics` does). Several sources add up (a server and its
/// workers). In a scenario whose lanes overlap, a phase's figure is the target's CPU while it ran, over its own requests.
package struct TargetCPU: Sendable {
    package enum Source: Sendable, Equatable {
        case process(Int32)
        case metrics(String)
    }

    let sources: [Source]

    package init(sources: [Source]) { self.sources = sources }

    /// What the sources are, for reports: `pid 123`, `http://…/metrics`.
    var label: String {
        sources.map { source in
            switch source {
            case .process(let pid): "pid \(pid)"
            case .metrics(let url): url
            }
        }.joined(separator: " + ")
    }

    /// The sources' CPU seconds so far (user + system), or nil when one of them cannot be read.
    func seconds() async -> Double? {
        var total = 0.0
        for source in sources {
            switch source {
            case .process(let pid):
                guard let seconds = Self.processSeconds(pid: pid) else { return nil }
                total += seconds
            case .metrics(let url):
                guard let seconds = await Self.metricsSeconds(url: url) else { return nil }
                total += seconds
            }
        }
        return total
    }

    /// `utime + stime` of `/proc/<pid>/stat` (fields 14 and 15, in clock ticks), in seconds.
    static func processSeconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        return processSeconds(stat: text, ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))))
    }

    /// The same from a `stat` line: the fields after the command name's closing parenthesis (a name may hold spaces).
    static func processSeconds(stat: String, ticksPerSecond: Double) -> Double? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the name: state is field 3, so utime (14) and stime (15) are at offsets 11 and 12.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]), ticksPerSecond > 0 else { return nil }
        return (user + system) / ticksPerSecond
    }

    /// `process_cpu_seconds_total` from a Prometheus text exposition at `url`.
    static func metricsSeconds(url: String) async -> Double? {
        guard let response = try? await CurlHTTPClient.withClient({ try await $0.send(HTTPClientRequest(url: url, timeout: .seconds(5))) }),
            response.status == 200
        else { return nil }
        return metricsSeconds(exposition: String(decoding: response.body, as: UTF8.self))
    }

    static func metricsSeconds(exposition: String) -> Double? {
        for line in exposition.split(separator: "\n") where line.hasPrefix("process_cpu_seconds_total") {
            let parts = line.split(separator: " ")
            if parts.count >= 2, parts[0] == "process_cpu_seconds_total" || parts[0].hasPrefix("process_cpu_seconds_total{"), let value = Double(parts[1]) {
                return value
            }
        }
        return nil
    }
}

/// What one phase cost the target, from ``TargetCPU``.
struct TargetCPUReport: Codable, Sendable, Equatable {
    /// Where it was read (`pid 123`, a metrics URL).
    var source: String
    var cpu_seconds: Double
    /// The target's CPU per answered request, µs (nil without requests).
    var per_request_us: Double?

    init(source: String, before: Double, after: Double, requests: UInt64) {
        self.source = source
        cpu_seconds = ((after - before) * 1e6).rounded() / 1e6
        per_request_us = requests > 0 ? ((after - before) * 1e6 / Double(requests) * 10).rounded() / 10 : nil
    }
}
