import Foundation
import HappeningAuth
import Hummingbird

/// Requires `Authorization: Bearer <jwt>`: a missing, malformed, expired or forged token is 401. With
/// ``Identity/account`` (most routes) the user is reloaded from the database on every request, so a role change
/// or a deleted account takes effect at once (401 for an account that no longer exists).
struct RequireUserMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let tokens: TokenService
    let users: UserRepository
    var identity: Identity = .account

    /// How much of the caller a route needs.
    enum Identity: Sendable {
        /// The user's row from PostgreSQL (`context.user` and `context.userID`).
        case account
        /// The token's verified user id only (`context.userID`), with no database round trip: for the booking
        /// intake (a revoked token can still queue a booking for its own account, never act as anyone else), where
        /// the worker's transaction is the authority (a job of an account deleted after its token
        /// was issued cannot be inserted and is dead-lettered, not lost).
        case token
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let verified = Result { try Self.verified(request.headers[.authorization], tokens: tokens) }
        context.timings.record(.token, ContinuousClock.now - started)
        let (id, version) = try verified.get()
        var context = context
        context.userID = id
        if identity == .account {
            guard let user = try await context.timings.measure(.user, { try await users.find(id: id) }) else {
                throw AppError.unauthorized("The account for this token no longer exists", code: "token_invalid")
            }
            guard user.tokenVersion == version else {
                throw AppError.unauthorized("This token was revoked (the account's password or role changed); sign in again", code: "token_revoked")
            }
            context.user = user
        }
        return try await next(request, context)
    }

    /// The user id and token version of `Authorization: Bearer <jwt>`; 401 for a missing, malformed, expired or forged
    /// token (also for the bookings the event loop takes whole, ``InlineRoutes``).
    static func verified(_ header: String?, tokens: TokenService) throws -> (userID: UUID, version: Int) {
        guard let header else { throw AppError.unauthorized("Missing bearer token", code: "token_missing") }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", let verified = tokens.verifiedClaims(String(parts[1])) else {
            throw AppError.unauthorized("Invalid or expired token", code: "token_invalid")
        }
        return verified
    }
}
