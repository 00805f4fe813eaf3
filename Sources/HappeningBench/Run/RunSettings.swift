import HappeningCommandLine
import HappeningHTTP
import HappeningLoad
import HappeningSystem

/// How a run is made, as the command line said: one value from the command to the loops. `BenchSession` reads what
/// concerns the whole invocation, ``ScenarioRunner`` what concerns a target's run, ``PhaseRunner`` what concerns the
/// loops; none copies it field by field.
package struct RunSettings: Sendable {
    /// Loop threads (one event loop each).
    package var threads = 1
    package var engine: LoadEngine = .raw
    /// How an https target's certificate is checked.
    package var tls: TLSVerification = .system
    /// Concurrent HTTP/2 streams per TCP connection (`--http2 --streams N`); nil: HTTP/1.1.
    package var http2Streams: Int?
    /// Wall-clock start of the first phase (µs since 1970), shared by cooperating processes (`--start-at`).
    package var startAtMicros: Int64?
    /// `--shard I/N`: this process runs its part of every phase, with its slice of the users.
    package var shard: Shard?
    package var progress: ProgressStyle = .none
    /// `--connections`, `--rate`, `--duration`: override every recorded closed/open phase.
    package var connections: Int?
    package var rate: String?
    package var duration: String?
    /// PostgreSQL, for pools, setup, the ledger and the history.
    package var databaseURL: String?
    /// `--services-script` and `--worker-pids`, for the scenario's faults.
    package var servicesScript = "scripts/services.sh"
    package var workerPidFiles: [String] = []
    /// Where the target's CPU is read before and after each phase (nil: not reported).
    package var targetCPU: TargetCPU?
    /// `--set name=value`.
    package var variables: [String: String] = [:]
    /// `--setup-dir`: what `happening-bench setup` prepared, instead of running the setup steps.
    package var setupDirectory: String?
    /// Where reports go (`--out`).
    package var outputDirectory = "results/runs"
    /// `--prometheus-remote-write`: where the run's seconds stream to.
    package var remoteWriteURL: String?
    /// `--run-id` (nil: made from the scenario and the start).
    package var runID: String?
    /// The command as typed, for the result (`happening-bench run …`).
    package var commandLine = "happening-bench"

    package init() {}

    /// HTTP/2 for `target`: h2c with prior knowledge for http, ALPN for https (nil: HTTP/1.1).
    func http2(target: String) -> HTTP2Multiplexing? {
        http2Streams.map { HTTP2Multiplexing(streams: $0, priorKnowledge: target.lowercased().hasPrefix("http://")) }
    }
}
