import Foundation
import HappeningConfig
import Hummingbird
import Metrics
import NIOCore
import NIOPosix
import Prometheus

/// `happening-server`: reads its configuration from the environment and runs until SIGTERM/SIGINT.
@main
struct App {
    static func main() async {
        let configuration: ServerConfiguration
        do {
            configuration = try ServerConfiguration(Settings(ProcessInfo.processInfo.environment))
        } catch {
            FileHandle.standardError.write(Data("happening-server: \(error)\n".utf8))
            exit(2)
        }
        // One event loop per CPU the process may use (NIO counts the machine's cores, not `taskset`'s), and
        // Swift concurrency runs on those loops: a handler resumes on the loop that owns its connection instead
        // of hopping to a Dispatch thread and back. Blocking work (libpq, hiredis, bcrypt) has threads of its own.
        NIOSingletons.groupLoopCountSuggestion = configuration.eventLoops
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        // Process-wide metrics backend, bootstrapped once here; /metrics renders this registry.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        await ServiceMain.run("happening-server", listening: "\(configuration.host):\(configuration.port)") {
            let app = try await buildApplication(configuration, metrics: registry)
            try await app.runService()
        }
    }
}
