import HappeningAuth
import Logging

/// What the server checks in the database before it serves, refusing to start with one clear line:
/// - accounts with the published development password (``DevCredentials``) unless `DEV_MODE=1`;
/// - an `ADMIN_EMAIL` that belongs to an account that is not an admin (it is never promoted: whoever registered
///   the address first would hold an admin account, with tokens already in their hands).
/// The configured admin is created when missing; a changed `ADMIN_PASSWORD` is set and revokes the admin's tokens.
struct StartupChecks: Sendable {
    let users: UserRepository
    let hasher: PasswordHasher
    let devMode: Bool

    /// A state the server will not run in; its description is the line printed.
    struct Refused: Error, CustomStringConvertible, Equatable {
        var description: String
    }

    func run(admin: (email: String, password: String)?, logger: Logger) async throws {
        if !devMode, try await users.holdsPassword(hash: DevCredentials.passwordHash) {
            throw Refused(
                description:
                    "the database holds accounts with the published development password (seeded with DEV_MODE=1); set DEV_MODE=1 for a development stack or remove them"
            )
        }
        guard let admin else { return }
        switch try await users.adminAccount(email: admin.email) {
        case .notAdmin:
            throw Refused(
                description:
                    "ADMIN_EMAIL \(admin.email) belongs to an existing account that is not an admin; it is not promoted (its owner's tokens would become admin tokens): choose another address or promote it by hand"
            )
        case .missing:
            try await users.createAdmin(email: admin.email, passwordHash: try await hasher.hash(admin.password))
            guard case .admin = try await users.adminAccount(email: admin.email) else {
                throw Refused(description: "ADMIN_EMAIL \(admin.email) was registered by someone else while the admin was being created")
            }
            logger.info("admin account created", metadata: ["email": "\(admin.email)"])
        case .admin(let hash):
            if try await !hasher.verify(admin.password, hash: hash) {
                try await users.changeAdminPassword(email: admin.email, passwordHash: try await hasher.hash(admin.password))
                logger.info("admin password changed; earlier admin tokens are revoked", metadata: ["email": "\(admin.email)"])
            }
        }
    }
}
