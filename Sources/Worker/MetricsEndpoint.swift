import Hummingbird
import Logging
import NIOCore
import Prometheus

/// The worker's `GET /metrics` (Prometheus text format) on a small listener of its own (`--metrics-port`), run as one
/// more service of the worker's group: decisions by outcome, decision time, dead-lettered jobs (``BookingWorker``).
enum MetricsEndpoint {
    static func application(registry: PrometheusCollectorRegistry, host: String, port: Int, logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        router.get("metrics") { _, _ in
            var buffer = [UInt8]()
            registry.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        router.get("health") { _, _ in "ok" }
        return Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "happening-worker"), logger: logger)
    }
}
