import Foundation

/// The user a valid token belongs to, reloaded from the database on every request (so a role change or
/// a deleted account takes effect at once).
struct AuthenticatedUser: Sendable, Codable, Equatable {
    var id: UUID
    var email: String
    var name: String
    var role: String
    var is_host: Bool
    var host_status: String
}
