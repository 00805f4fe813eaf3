import Foundation
import HappeningAuth
import HappeningModel

/// The user a valid token belongs to, reloaded from the database on every request (so a role change or
/// a deleted account takes effect at once).
struct AuthenticatedUser: Sendable, Codable, Equatable {
    var id: UUID
    var email: String
    var name: String
    var role: UserRole
    var is_host: Bool
    var host_status: HostStatus

    private enum CodingKeys: String, CodingKey { case id, email, name, role, is_host, host_status }

    init(id: UUID, email: String, name: String, role: UserRole, is_host: Bool, host_status: HostStatus) {
        (self.id, self.email, self.name, self.role, self.is_host, self.host_status) = (id, email, name, role, is_host, host_status)
    }

    /// Ids go out as lowercase UUID text, as the original API wrote them.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id.uuidString.lowercased(), forKey: .id)
        try container.encode(email, forKey: .email)
        try container.encode(name, forKey: .name)
        try container.encode(role, forKey: .role)
        try container.encode(is_host, forKey: .is_host)
        try container.encode(host_status, forKey: .host_status)
    }
}

extension TokenService {
    /// A signed token for `user`, valid for the configured TTL.
    func issue(for user: AuthenticatedUser, now: Date = Date()) throws -> String {
        try issue(userId: user.id, email: user.email, role: user.role.rawValue, now: now)
    }
}
