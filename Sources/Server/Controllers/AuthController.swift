import Foundation
import HappeningAuth
import HappeningModel
import Hummingbird
import Logging

/// `POST /api/auth/register`, `POST /api/auth/login` and `GET /api/profile`.
struct AuthController: Sendable {
    let users: UserRepository
    let hasher: PasswordHasher
    let tokens: TokenService
    let rateLimiter: AuthRateLimiter
    let clientAddress: ClientAddress

    struct Credentials: Decodable {
        var email: String?
        var password: String?
        var name: String?
    }

    struct PublicUser: Encodable {
        @LowercaseID var id: UUID
        var email: String
        var name: String
        var role: UserRole
        init(_ user: AuthenticatedUser) {
            id = user.id
            email = user.email
            name = user.name
            role = user.role
        }
    }

    struct AuthResponse: ResponseEncodable {
        var message: String
        var user: PublicUser
        var token: String
    }

    struct ProfileResponse: ResponseEncodable {
        var message: String
        var user: AuthenticatedUser
    }

    func addRoutes(to auth: RouterGroup<AppRequestContext>) {
        auth.post("register", use: register)
        auth.post("login", use: login)
    }

    @Sendable func register(request: Request, context: AppRequestContext) async throws -> EditedResponse<AuthResponse> {
        let body = try await request.decodeJSON(as: Credentials.self, context: context)
        var validator = Validator()
        let email = validator.email(body.email)
        let password = validator.password(body.password)
        let name = validator.require(body.name, "name", maxLength: 100)
        try validator.check()
        try await rateLimiter.countRegistration(ip: clientAddress.of(request, context), logger: context.logger)
        let hash = try await hasher.hash(password)
        guard let user = try await users.create(email: email, name: name, passwordHash: hash) else {
            throw AppError.conflict("An account with this email already exists", code: "email_taken")
        }
        let token = try tokens.issue(for: user)
        return EditedResponse(status: .created, response: AuthResponse(message: "User registered successfully", user: PublicUser(user), token: token))
    }

    @Sendable func login(request: Request, context: AppRequestContext) async throws -> AuthResponse {
        let body = try await request.decodeJSON(as: Credentials.self, context: context)
        var validator = Validator()
        let email = validator.require(body.email, "email", maxLength: 254).lowercased()
        if body.password?.isEmpty ?? true { validator.fail("password", "is required") }
        try validator.check()
        let password = body.password ?? ""
        let address = clientAddress.of(request, context)
        // Counted before the password is checked: parallel guesses cannot all slip in under the limit.
        try await rateLimiter.countLogin(ip: address, email: email, logger: context.logger)
        let account = try await users.credentials(email: email)
        guard try await hasher.verify(password, hash: account?.passwordHash), let account else {
            throw AppError.unauthorized("Invalid email or password", code: "invalid_credentials")
        }
        await rateLimiter.loginSucceeded(ip: address, email: email)
        return AuthResponse(message: "Login successful", user: PublicUser(account.user), token: try tokens.issue(for: account.user))
    }

    @Sendable func profile(request: Request, context: AppRequestContext) async throws -> ProfileResponse {
        ProfileResponse(message: "Profile retrieved", user: try context.requireUser())
    }
}
