import Foundation
import HappeningPostgres

/// Users in PostgreSQL. Emails are matched case-insensitively (the unique index is on `lower(email)`).
struct UserRepository: Sendable {
    let postgres: PostgresClient

    /// A user row with its password hash, for login.
    struct Credentials: Sendable {
        var user: AuthenticatedUser
        var passwordHash: String
    }

    private static let columns = "id, email, name, role::text, is_host, host_status::text"

    private static func user(_ row: PostgresRow) throws -> AuthenticatedUser {
        AuthenticatedUser(
            id: try row.decode(0), email: try row.decode(1), name: try row.decode(2), role: try row.decode(3),
            is_host: try row.decode(4), host_status: try row.decode(5))
    }

    /// Inserts a user; nil when the email is taken (one statement, so two racing sign-ups cannot both win).
    func create(email: String, name: String, passwordHash: String) async throws -> AuthenticatedUser? {
        let rows = try await postgres.query(
            """
            INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3)
            ON CONFLICT ((lower(email))) DO NOTHING
            RETURNING \(Self.columns)
            """, [email, name, passwordHash])
        return try rows.first.map(Self.user)
    }

    func credentials(email: String) async throws -> Credentials? {
        let rows = try await postgres.query(
            "SELECT \(Self.columns), password_hash FROM users WHERE lower(email) = lower($1)", [email])
        return try rows.first.map { Credentials(user: try Self.user($0), passwordHash: try $0.decode(6)) }
    }

    func find(id: UUID) async throws -> AuthenticatedUser? {
        try await postgres.query("SELECT \(Self.columns) FROM users WHERE id = $1", [id]).first.map(Self.user)
    }

    /// Creates the configured admin, or makes the existing account an admin with this password.
    func upsertAdmin(email: String, passwordHash: String) async throws {
        try await postgres.query(
            """
            INSERT INTO users (email, name, password_hash, role) VALUES ($1, 'Administrator', $2, 'admin')
            ON CONFLICT ((lower(email))) DO UPDATE SET password_hash = EXCLUDED.password_hash, role = 'admin'
            """, [email, passwordHash])
    }
}
