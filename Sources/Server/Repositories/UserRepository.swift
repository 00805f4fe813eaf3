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

    private static let columns = "id, email, name, role::text, is_host, host_status::text, token_version"

    private static func user(_ row: PostgresRow) throws -> AuthenticatedUser {
        AuthenticatedUser(
            id: try row.decode(0), email: try row.decode(1), name: try row.decode(2), role: try row.decode(3),
            is_host: try row.decode(4), host_status: try row.decode(5), tokenVersion: try row.decode(6))
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
        return try rows.first.map { Credentials(user: try Self.user($0), passwordHash: try $0.decode(7)) }
    }

    func find(id: UUID) async throws -> AuthenticatedUser? {
        try await postgres.query("SELECT \(Self.columns) FROM users WHERE id = $1", [id]).first.map(Self.user)
    }

    /// True when some account's password hash is `hash` (the published development one: a start-up check).
    func holdsPassword(hash: String) async throws -> Bool {
        try await postgres.query("SELECT EXISTS (SELECT 1 FROM users WHERE password_hash = $1)", [hash])[0].decode(0)
    }

    /// What the configured admin account (`ADMIN_EMAIL`) is in the database.
    enum AdminAccount: Sendable, Equatable {
        case missing
        /// An admin, with its password hash.
        case admin(passwordHash: String)
        /// An account that is not an admin: never promoted at start (whoever registered the address first would
        /// hold an admin account, and their tokens would be admin tokens).
        case notAdmin
    }

    func adminAccount(email: String) async throws -> AdminAccount {
        guard let row = try await postgres.query("SELECT role::text, password_hash FROM users WHERE lower(email) = lower($1)", [email]).first else {
            return .missing
        }
        return try row.decode(0, as: String.self) == "admin" ? .admin(passwordHash: try row.decode(1)) : .notAdmin
    }

    /// Creates the configured admin (nothing happens when the address was registered meanwhile: the caller checks again).
    func createAdmin(email: String, passwordHash: String) async throws {
        try await postgres.query(
            "INSERT INTO users (email, name, password_hash, role) VALUES ($1, 'Administrator', $2, 'admin') ON CONFLICT ((lower(email))) DO NOTHING",
            [email, passwordHash])
    }

    /// Sets an admin's new password and revokes every token issued before (its token version goes up).
    func changeAdminPassword(email: String, passwordHash: String) async throws {
        try await postgres.query(
            "UPDATE users SET password_hash = $2, token_version = token_version + 1 WHERE lower(email) = lower($1) AND role = 'admin'",
            [email, passwordHash])
    }
}
