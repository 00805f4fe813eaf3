import Hummingbird

/// Runs the rest of a route group (its other middleware and its handlers) on an executor of its own
/// (`withTaskExecutorPreference`), so a flood of these requests queues there and not on the shared pool every
/// other route runs on. The booking intake uses it (``AppDependencies/intakeExecutor``).
struct ExecutorPreferenceMiddleware<Context: RequestContext>: RouterMiddleware {
    let executor: any TaskExecutor

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await withTaskExecutorPreference(executor) {
            try await next(request, context)
        }
    }
}
