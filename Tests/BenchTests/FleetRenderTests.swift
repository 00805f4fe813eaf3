import Foundation
import TestSupport
import Testing

/// `fleet render`'s manifests and the reference stack, validated offline against the Kubernetes API schemas
/// (`kubernetes-validate`, pinned in .ci/run, `--strict`: unknown fields are errors too); a manifest that breaks
/// the schema fails.
@Suite("Bench: the fleet's Kubernetes manifests", .timeLimit(.minutes(5)))
struct FleetRenderTests {
    private func validate(_ paths: [String]) async throws -> (status: Int32, output: String) {
        try await TestEnvironment.shellOffPool(
            "kubernetes-validate --strict --kubernetes-version 1.31.0 " + paths.map { "'\($0)'" }.joined(separator: " ") + " 2>&1")
    }

    @Test("an Indexed Job of 4 shards with one --start-at, setup and merge Jobs, the stack: all valid; a broken one is not")
    func renderAndValidate() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-render-\(TestEnvironment.uniqueSuffix())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let rendered = try await bench(
            "fleet render scenarios/flash-sale.yaml --shards 4 --start-in 60s --set users=40000 --set tickets=100 --run-id Test-Run_1 --out '\(directory)'")
        try #require(rendered.status == 0, "\(rendered.output)")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files == ["1-shared-volume.yaml", "2-scenario.yaml", "3-setup-job.yaml", "4-shards-job.yaml", "5-merge-job.yaml"])
        let stack = ["deploy/k8s/stack.yaml", "deploy/k8s/seed-job.yaml"].map { TestEnvironment.repositoryRoot.appendingPathComponent($0).path }
        let valid = try await validate(files.map { "\(directory)/\($0)" } + stack)
        #expect(valid.status == 0, "\(valid.output)")
        #expect(valid.output.components(separatedBy: " passed for resource ").count - 1 == 5 + 12, "\(valid.output)")

        let shards = try String(contentsOfFile: "\(directory)/4-shards-job.yaml", encoding: .utf8)
        #expect(shards.contains("completionMode: Indexed") && shards.contains("completions: 4") && shards.contains("parallelism: 4"))
        #expect(shards.contains(#"--shard \"$JOB_COMPLETION_INDEX/4\""#) && shards.contains("backoffLimit: 0"), "\(shards)")
        #expect(shards.components(separatedBy: "--start-at ").count == 2, "one instant for every pod")
        #expect(shards.contains("name: happening-bench-shards-test-run_1") == false && shards.contains("happening-bench-shards-test-run-1"))
        let scenario = try String(contentsOfFile: "\(directory)/2-scenario.yaml", encoding: .utf8)
        #expect(scenario.contains("    name: flash-sale\n") && scenario.contains("${users}"), "the scenario goes in unexpanded")

        // Broken on purpose: a field of the wrong type, and a misspelt one (strict).
        for (from, to) in [("completions: 4", "completions: four"), ("completionMode: Indexed", "completionsMode: Indexed")] {
            let broken = "\(directory)/broken.yaml"
            try shards.replacingOccurrences(of: from, with: to).write(toFile: broken, atomically: true, encoding: .utf8)
            let result = try await validate([broken])
            #expect(result.status != 0 && result.output.contains("did not validate"), "\(to): \(result.output)")
        }
    }
}
