import Foundation
import HappeningModel
import Hummingbird
import NIOCore

/// The context every route sees: Hummingbird's core storage, the peer address (for rate limits) and,
/// behind ``RequireUserMiddleware``, the authenticated user.
struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    /// The client's address (nil in router tests without a socket).
    let remoteAddress: SocketAddress?
    /// Set by ``RequireUserMiddleware`` (``RequireUserMiddleware/Identity/account`` routes only).
    var user: AuthenticatedUser?
    /// The verified token's user id, set by ``RequireUserMiddleware`` on every signed-in route.
    var userID: UUID?
    /// The stages this request measured (sent back as `Server-Timing` by ``ServerTimingMiddleware``).
    let timings = StageTimings()

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// Dates go out as ISO 8601, keys sorted.
    var responseEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    /// JSON bodies are small; anything larger is refused with 413.
    var maxUploadSize: Int { 64 * 1024 }

    /// The authenticated user, or 401.
    func requireUser() throws -> AuthenticatedUser {
        guard let user else { throw AppError.unauthorized() }
        return user
    }

    /// The verified token's user id, or 401.
    func requireUserID() throws -> UUID {
        guard let userID else { throw AppError.unauthorized() }
        return userID
    }

    /// The authenticated user if an admin, else 403 (401 when anonymous).
    func requireAdmin() throws -> AuthenticatedUser {
        let user = try requireUser()
        guard user.role == .admin else { throw AppError.forbidden("Admin access required", code: "admin_only") }
        return user
    }

    /// The client IP as text, for rate limits.
    var clientIP: String { remoteAddress?.ipAddress ?? "unknown" }
}
