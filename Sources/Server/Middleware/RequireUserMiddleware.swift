import HappeningAuth
import Hummingbird

/// Requires `Authorization: Bearer <jwt>`: a missing, malformed, expired or forged token, or one whose
/// user no longer exists, is 401. The user is reloaded from the database on every request.
struct RequireUserMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let tokens: TokenService
    let users: UserRepository

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw AppError.unauthorized("Missing bearer token", code: "token_missing")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        let started = ContinuousClock.now
        let verified = parts.count == 2 && parts[0].lowercased() == "bearer" ? tokens.verify(String(parts[1])) : nil
        context.timings.record(.token, ContinuousClock.now - started)
        guard let id = verified else {
            throw AppError.unauthorized("Invalid or expired token", code: "token_invalid")
        }
        guard let user = try await context.timings.measure(.user, { try await users.find(id: id) }) else {
            throw AppError.unauthorized("The account for this token no longer exists", code: "token_invalid")
        }
        var context = context
        context.user = user
        return try await next(request, context)
    }
}
