import HappeningSystem
import Hummingbird
import Metrics
import Synchronization

/// Counts requests and records their duration per route, method and status (`http_server_requests_total`,
/// `http_server_request_duration_seconds`, `http_server_request_errors_total`).
///
/// Why not Hummingbird's `MetricsMiddleware`: it records after the body is written by wrapping the body in a
/// closure, and a closure body makes Hummingbird write the head and the body as two flushes (two `write`
/// syscalls and two trips through the async writer). Every body this server sends is already in memory when
/// the handler returns, so the duration is recorded at that point and the response keeps the single-write path.
/// Metric handles are created once per (route, method, status) and kept. Place it outside ``ErrorMiddleware`` so
/// the status counted is the one the client got.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: RequestMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            metrics.for(route: context.endpointPath ?? "unmatched", method: request.method, status: status).record(since: start, failed: true)
            throw error
        }
        metrics.for(route: context.endpointPath ?? "unmatched", method: request.method, status: response.status).record(since: start, failed: false)
        return response
    }
}

/// The request metrics of every (route, method, status), created on first use and kept (a lock and a dictionary
/// lookup per request): shared by ``RequestMetricsMiddleware`` and the answers given on the event loop
/// (``InlineRoutes``), so both count in the same series.
final class RequestMetrics: Sendable {
    /// The metric handles of one (route, method, status).
    struct Handle: Sendable {
        let requests: Counter
        let duration: Timer
        let errors: Counter

        init(route: String, method: String, status: String, factory: any MetricsFactory) {
            let dimensions = [("route", route), ("method", method), ("status", status)]
            requests = Counter(label: "http_server_requests_total", dimensions: dimensions, factory: factory)
            duration = Timer(label: "http_server_request_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory)
            errors = Counter(label: "http_server_request_errors_total", dimensions: dimensions, factory: factory)
        }

        func record(since start: ContinuousClock.Instant, failed: Bool) {
            requests.increment()
            if failed { errors.increment() }
            duration.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
        }
    }

    private struct Key: Hashable {
        let route: String
        let method: HTTPRequest.Method
        let status: Int
    }
    private let storage = Mutex([Key: Handle]())
    private let factory: any MetricsFactory

    /// - Parameter factory: where the metrics go (the server's registry; the process-wide factory by default).
    init(factory: any MetricsFactory = MetricsSystem.factory) { self.factory = factory }

    func `for`(route: String, method: HTTPRequest.Method, status: HTTPResponse.Status) -> Handle {
        let key = Key(route: route, method: method, status: status.code)
        return storage.withLock { handles in
            if let handle = handles[key] { return handle }
            let handle = Handle(route: route, method: method.rawValue, status: String(status.code), factory: factory)
            handles[key] = handle
            return handle
        }
    }
}
