import ArgumentParser
import Foundation
import HappeningBench
import HappeningCommandLine
import HappeningSystem

extension BenchCommand {
    /// `fleet`: runs spread over several generators.
    struct Fleet: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A generator fleet: write the Kubernetes manifests of a sharded run.", subcommands: [Render.self])

        /// `fleet render --shards N --start-in 60s SCENARIO`: the manifests of one sharded run (``FleetManifests``).
        struct Render: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Write the manifests of a sharded run: shared volume, scenario, setup Job, Indexed shards Job, merge Job.")

            @Argument(help: "The scenario file (put into a ConfigMap).")
            var scenario: String

            @Option(help: "Shards (pods of the Indexed Job), each running --shard I/N.")
            var shards: Int

            @Option(help: "When every shard fires, from now (the manifests hold the instant: apply them within it).")
            var startIn: String = "120s"

            @Option(help: "The server's URL as the pods see it.")
            var target = "http://happening-server.happening.svc.cluster.local"

            @Option(help: "The image with happening-bench (deploy/k8s/Dockerfile).")
            var image = "happening:local"

            @Option(help: "The namespace (deploy/k8s/stack.yaml's is happening).")
            var namespace = "happening"

            @Option(name: .customLong("set"), help: "A scenario variable for the setup and every shard: --set users=40000 (repeatable).")
            var variables: [String] = []

            @Option(help: "Loop threads per shard.")
            var threads = 1

            @Option(help: "CPUs each shard pod requests.")
            var cpu = "2"

            @Option(help: "The shared volume's storage class (one offering ReadWriteMany); default: the cluster's.")
            var storageClass: String?

            @Option(help: "Pass --prometheus-remote-write URL to every shard.")
            var prometheusRemoteWrite: String?

            @Option(name: .customLong("run-id"), help: "The run's id (object names, labels, result paths; default: made up).")
            var runID: String?

            @Option(help: "Where the manifests go.")
            var out = ".run/fleet"

            mutating func run() async throws {
                guard (1...1_024).contains(shards) else { throw UsageError("--shards must be 1…1024") }
                guard let lead = DurationText.parse(startIn), lead >= .seconds(10) else {
                    throw UsageError("--start-in must be a duration of at least 10s (the pods need time to start)")
                }
                guard let text = try? String(contentsOfFile: scenario, encoding: .utf8) else { throw UsageError("cannot read scenario file \(scenario)") }
                for item in variables where !item.contains("=") { throw UsageError("--set expects name=value, got '\(item)'") }
                let loaded = try Scenario.load(path: scenario, overrides: [:], runDirectory: "/shared/setup")
                let startAt = Date().addingTimeInterval(lead.seconds)
                let id = runID ?? BenchSession.makeRunID(scenario: loaded.name, started: startAt).lowercased()
                let manifests = FleetManifests(
                    shards: shards, startAt: ISO8601DateFormatter().string(from: startAt), runID: id, scenarioName: loaded.name,
                    scenarioText: text, target: target, image: image, namespace: namespace, variables: variables, threads: threads,
                    storageClass: storageClass, remoteWrite: prometheusRemoteWrite, cpu: cpu)
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                for file in manifests.files {
                    try file.yaml.write(toFile: (out as NSString).appendingPathComponent(file.name), atomically: true, encoding: .utf8)
                }
                let n = namespace
                print(
                    "happening-bench fleet render: \(manifests.files.count) manifests for run \(id) (\(shards) shards, firing at \(manifests.startAt)) in \(out)"
                )
                print("  kubectl -n \(n) apply -f \(out)/1-shared-volume.yaml -f \(out)/2-scenario.yaml -f \(out)/3-setup-job.yaml")
                print("  kubectl -n \(n) wait --for=condition=complete job/\(manifests.name("setup")) --timeout=10m")
                print("  kubectl -n \(n) apply -f \(out)/4-shards-job.yaml     # before \(manifests.startAt)")
                print("  kubectl -n \(n) wait --for=condition=complete job/\(manifests.name("shards")) --timeout=30m")
                print("  kubectl -n \(n) apply -f \(out)/5-merge-job.yaml && kubectl -n \(n) logs -f job/\(manifests.name("merge"))")
            }
        }
    }
}
