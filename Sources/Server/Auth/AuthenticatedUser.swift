import Foundation
import HappeningAuth
import HappeningModel

/// The user a valid token belongs to, reloaded from the database on every request (so a role change or
/// a deleted account takes effect at once).
struct AuthenticatedUser: Sendable, Codable, Equatable {
    @LowercaseID var id: UUID
    var email: String
    var name: String
    var role: UserRole
    var is_host: Bool
    var host_status: HostStatus
    /// The account's token version: tokens issued under an older one are refused (not part of the JSON).
    var tokenVersion = 0

    private enum CodingKeys: String, CodingKey { case id, email, name, role, is_host, host_status }
}

extension TokenService {
    /// A signed token for `user`, valid for the configured TTL.
    func issue(for user: AuthenticatedUser, now: Date = Date()) throws -> String {
        try issue(userId: user.id, email: user.email, role: user.role.rawValue, version: user.tokenVersion, now: now)
    }
}
