import HTTPTypes
import HappeningSystem
import Hummingbird
import Metrics
import Synchronization

/// A step of a request whose time is worth seeing on its own (the booking intake's, first of all).
enum RequestStage: String, Sendable, CaseIterable {
    /// Verifying the bearer token's signature and claims.
    case token
    /// Loading the token's user from PostgreSQL.
    case user
    /// The event's cheap checks (exists, not started), from the read cache (or the database on a miss).
    case event
    /// The rate limit, the idempotency key and the event's admission gate: one Redis script (``AdmissionGate``).
    case admission
    /// Publishing the job and waiting for the broker's confirm.
    case publish
    /// Marking the Idempotency-Key's booking published in Redis.
    case bookkeeping
}

/// The stages one request went through and how long each took. Created with the request's context (a reference,
/// so middleware and handler write to the same one); ``ServerTimingMiddleware`` sends it back as `Server-Timing`
/// and records it in `/metrics`.
final class StageTimings: Sendable {
    private let stages = Mutex<[(RequestStage, Duration)]>([])

    /// Runs `body` and records its time under `stage` (also when it throws: a refusal's cost is a cost).
    func measure<T>(_ stage: RequestStage, _ body: () async throws -> T) async rethrows -> T {
        let start = ContinuousClock.now
        defer { record(stage, ContinuousClock.now - start) }
        return try await body()
    }

    /// Records a stage measured elsewhere.
    func record(_ stage: RequestStage, _ duration: Duration) {
        stages.withLock { $0.append((stage, duration)) }
    }

    /// What was recorded, in order.
    var recorded: [(RequestStage, Duration)] { stages.withLock { $0 } }
}

/// Sends each request's ``StageTimings`` as a `Server-Timing` header (`token;dur=0.081, user;dur=0.912, …`, in
/// milliseconds, the W3C format browsers and curl users read) and records them in
/// `happening_request_stage_duration_seconds{route, stage}`. A request that measured no stage gets no header.
/// Place it outside ``ErrorMiddleware`` so a refusal (422, 429) carries its timings too.
struct ServerTimingMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let timers: StageTimers

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        let stages = context.timings.recorded
        guard !stages.isEmpty else { return response }
        response.headers[StageTimers.serverTiming] = timers.record(stages, route: context.endpointPath ?? "unmatched")
        return response
    }
}

/// The timers of `happening_request_stage_duration_seconds`, one per (route, stage), created on first use; shared by
/// ``ServerTimingMiddleware`` and the answers given on the event loop (``InlineRoutes``).
final class StageTimers: Sendable {
    static let serverTiming = HTTPField.Name("Server-Timing")!

    private struct Key: Hashable {
        let route: String
        let stage: RequestStage
    }
    private let storage = Mutex([Key: Timer]())
    private let factory: any MetricsFactory

    init(factory: any MetricsFactory = MetricsSystem.factory) { self.factory = factory }

    /// Records each stage's time under `route` and returns the `Server-Timing` header value that names them.
    func record(_ stages: [(RequestStage, Duration)], route: String) -> String {
        var header = ""
        for (stage, duration) in stages {
            timer(route: route, stage: stage).recordNanoseconds(duration.nanoseconds)
            if !header.isEmpty { header += ", " }
            header += stage.rawValue + ";dur=" + Self.milliseconds(duration)
        }
        return header
    }

    /// Milliseconds with three decimals (microsecond resolution), as `Server-Timing` expects.
    static func milliseconds(_ duration: Duration) -> String {
        let micros = duration.nanoseconds / 1000
        let whole = micros / 1000
        let fraction = micros % 1000
        return "\(whole)." + String(repeating: "0", count: fraction < 10 ? 2 : fraction < 100 ? 1 : 0) + "\(fraction)"
    }

    private func timer(route: String, stage: RequestStage) -> Timer {
        storage.withLock { timers in
            let key = Key(route: route, stage: stage)
            if let timer = timers[key] { return timer }
            let timer = Timer(
                label: "happening_request_stage_duration_seconds", dimensions: [("route", route), ("stage", stage.rawValue)],
                preferredDisplayUnit: .seconds, factory: factory)
            timers[key] = timer
            return timer
        }
    }
}
