import Foundation

/// The Kubernetes manifests of one fleet run (`happening-bench fleet render`): a shared volume, the scenario as a
/// ConfigMap, a setup Job, the shards as one Indexed Job (`completionMode: Indexed`: pod I runs `--shard I/N`,
/// I from `JOB_COMPLETION_INDEX`, every pod the same `--start-at`), and the merge Job. The reference stack they run
/// against is `deploy/k8s/stack.yaml`.
package struct FleetManifests {
    var shards: Int
    package var startAt: String
    var runID: String
    var scenarioName: String
    var scenarioText: String
    var target: String
    var image: String
    var namespace: String
    var variables: [String] = []
    var threads = 1
    var storageClass: String?
    var remoteWrite: String?
    /// CPUs each shard pod asks for (the Bench is one loop per thread, plus the process).
    var cpu = "2"

    package init(
        shards: Int, startAt: String, runID: String, scenarioName: String, scenarioText: String, target: String, image: String, namespace: String,
        variables: [String], threads: Int, storageClass: String?, remoteWrite: String?, cpu: String
    ) {
        (self.shards, self.startAt, self.runID, self.scenarioName, self.scenarioText) = (shards, startAt, runID, scenarioName, scenarioText)
        (self.target, self.image, self.namespace, self.variables, self.threads) = (target, image, namespace, variables, threads)
        (self.storageClass, self.remoteWrite, self.cpu) = (storageClass, remoteWrite, cpu)
    }

    /// File name → YAML, in the order to apply them.
    package var files: [(name: String, yaml: String)] {
        [
            ("1-shared-volume.yaml", volume), ("2-scenario.yaml", scenario), ("3-setup-job.yaml", setupJob), ("4-shards-job.yaml", shardsJob),
            ("5-merge-job.yaml", mergeJob),
        ]
    }

    private var labels: String { "{ app.kubernetes.io/name: happening-bench, happening/run-id: \(Self.quoted(Self.labelValue(runID))) }" }
    private var sets: [String] { variables.flatMap { ["--set", $0] } }

    private var volume: String {
        """
        # Where the setup, the shards' results and the merged report meet: ReadWriteMany, so every shard pod (on any
        # node) mounts it at once (NFS, CephFS, EFS, Filestore, Azure Files …).
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata:
          name: \(name("shared"))
          namespace: \(namespace)
          labels: \(labels)
        spec:
          accessModes: [ReadWriteMany]
        \(storageClass.map { "  storageClassName: \(Self.quoted($0))\n" } ?? "")  resources:
            requests:
              storage: 2Gi

        """
    }

    private var scenario: String {
        let indented = scenarioText.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n")
        return """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: \(name("scenario"))
              namespace: \(namespace)
              labels: \(labels)
            data:
              scenario.yaml: |
            \(indented)

            """
    }

    private var setupJob: String {
        job(
            "setup", completions: nil,
            command: ["happening-bench", "setup", "/scenario/scenario.yaml", "--dir", "/shared/\(runID)/setup", "--progress", "lines"] + sets,
            comment: "# Runs the scenario's setup once (bench users' tokens, the flash-sale event) for every shard.")
    }

    private var shardsJob: String {
        var run = [
            "exec", "happening-bench", "run", "/scenario/scenario.yaml", "--target", target, "--setup-dir", "/shared/\(runID)/setup",
            "--shard", "$JOB_COMPLETION_INDEX/\(shards)", "--start-at", startAt, "--threads", "\(threads)", "--run-id", runID,
            "--out", "/shared/\(runID)/results/$JOB_COMPLETION_INDEX", "--progress", "lines",
        ]
        run += sets
        if let remoteWrite { run += ["--prometheus-remote-write", remoteWrite] }
        let script = run.map { $0.contains("$") ? "\"\($0)\"" : Self.shellQuoted($0) }.joined(separator: " ")
        return job(
            "shards", completions: shards, command: ["/bin/sh", "-c", script],
            comment: """
                # The shards: pod I (JOB_COMPLETION_INDEX) runs --shard I/\(shards); all fire at \(startAt). No retries: a shard run
                # twice would book twice (a failed pod fails the run; merge then refuses the missing part).
                """)
    }

    private var mergeJob: String {
        let script = "exec happening-bench merge /shared/\(runID)/results/*/*.json --out /shared/\(runID)/merged --junit /shared/\(runID)/merged/junit.xml"
        return job(
            "merge", completions: nil, command: ["/bin/sh", "-c", script],
            comment: "# Merges the shards' results once the shards Job is complete: exact histograms, the start skew, one ledger check.")
    }

    /// A Job running `command` in the image with the stack's settings, the shared volume and the scenario mounted.
    private func job(_ role: String, completions: Int?, command: [String], comment: String) -> String {
        let indexed =
            completions.map { count in
                """
                  completionMode: Indexed
                  completions: \(count)
                  parallelism: \(count)

                """
            } ?? ""
        let spread =
            completions == nil
            ? ""
            : """
                  topologySpreadConstraints:
                    - maxSkew: 1
                      topologyKey: kubernetes.io/hostname
                      whenUnsatisfiable: ScheduleAnyway
                      labelSelector: { matchLabels: { job-name: \(name(role)) } }

            """
        return """
            \(comment)
            apiVersion: batch/v1
            kind: Job
            metadata:
              name: \(name(role))
              namespace: \(namespace)
              labels: \(labels)
            spec:
            \(indexed)  backoffLimit: 0
              template:
                metadata:
                  labels: \(labels)
                spec:
                  restartPolicy: Never
            \(spread)      containers:
                    - name: bench
                      image: \(Self.quoted(image))
                      command: \(Self.flow(command))
                      envFrom:
                        - configMapRef: { name: happening-config }
                        - secretRef: { name: happening-secrets }
                      resources:
                        requests: { cpu: \(Self.quoted(cpu)), memory: 1Gi }
                      volumeMounts:
                        - { name: shared, mountPath: /shared }
                        - { name: scenario, mountPath: /scenario, readOnly: true }
                  volumes:
                    - name: shared
                      persistentVolumeClaim: { claimName: \(name("shared")) }
                    - name: scenario
                      configMap: { name: \(name("scenario")) }

            """
    }

    /// `happening-bench-<role>-<run id>`, a valid object name (lowercase letters, digits, `-` and `.`; at most 63).
    package func name(_ role: String) -> String {
        let base = "happening-bench-\(role)-" + Self.labelValue(runID).lowercased().replacingOccurrences(of: "_", with: "-")
        return String(base.prefix(63)).trimmingCharacters(in: CharacterSet(charactersIn: "-."))
    }

    /// A label value: letters, digits, `-`, `_`, `.`, at most 63, starting and ending alphanumeric.
    static func labelValue(_ text: String) -> String {
        let kept = String(text.map { $0.isLetter && $0.isASCII || $0.isNumber && $0.isASCII || "-_.".contains($0) ? $0 : "-" }.prefix(63))
        return kept.trimmingCharacters(in: CharacterSet(charactersIn: "-_."))
    }

    /// A YAML flow sequence of strings (JSON strings are YAML).
    static func flow(_ items: [String]) -> String { "[" + items.map(quoted).joined(separator: ", ") + "]" }

    static func quoted(_ text: String) -> String {
        String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self).replacingOccurrences(of: "\\/", with: "/")
    }

    static func shellQuoted(_ text: String) -> String {
        text.allSatisfy { $0.isLetter || $0.isNumber || "-_./:=@%+,".contains($0) } ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
