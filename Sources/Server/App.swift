import Foundation
import HappeningCore
import Metrics
import Prometheus

/// `happening-server`: reads its configuration from the environment and runs until SIGTERM/SIGINT.
@main
struct App {
    static func main() async throws {
        let configuration: ServerConfiguration
        do {
            configuration = try ServerConfiguration(Settings(ProcessInfo.processInfo.environment))
        } catch {
            FileHandle.standardError.write(Data("happening-server: \(error)\n".utf8))
            exit(2)
        }
        // Process-wide metrics backend, bootstrapped once here; /metrics renders this registry.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let app = try await buildApplication(configuration, metrics: registry)
        try await app.runService()
    }
}
