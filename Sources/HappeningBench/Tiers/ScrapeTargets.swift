import Foundation
import HappeningSystem
import Synchronization

/// A Prometheus `file_sd_configs` file naming a gate's server and workers (deploy/prometheus/prometheus.yml reads
/// `.run/prometheus/targets/*.json`, so a running Prometheus scrapes them while the gate runs).
package enum ScrapeTargets {
    package static func write(to path: String, server: String, workers: [String], labels: [String: String]) throws {
        struct Group: Encodable {
            var targets: [String]
            var labels: [String: String]
        }
        var groups = [Group(targets: [server], labels: labels.merging(["job": "happening-server"]) { $1 })]
        if !workers.isEmpty { groups.append(Group(targets: workers, labels: labels.merging(["job": "happening-worker"]) { $1 })) }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(groups).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
