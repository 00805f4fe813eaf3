import Foundation
import JWTKit

/// Issues and verifies the API's JWTs (HS256 with `JWT_SECRET`). The payload keeps the original's
/// claims `{userId, email, role}` plus `exp` and `iat`.
struct TokenService: Sendable {
    private let keys: JWTKeyCollection
    private let ttl: Duration

    /// The token's claims.
    struct Payload: JWTPayload, Equatable {
        var userId: String
        var email: String
        var role: String
        var exp: ExpirationClaim
        var iat: IssuedAtClaim

        func verify(using algorithm: some JWTAlgorithm) throws {
            try exp.verifyNotExpired()
        }
    }

    init(secret: String, ttl: Duration) async {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.keys = keys
        self.ttl = ttl
    }

    /// A signed token for `user`, valid for the configured TTL.
    func issue(for user: AuthenticatedUser, now: Date = Date()) async throws -> String {
        let payload = Payload(
            userId: user.id.uuidString.lowercased(), email: user.email, role: user.role,
            exp: ExpirationClaim(value: now.addingTimeInterval(Double(ttl.components.seconds))),
            iat: IssuedAtClaim(value: now))
        return try await keys.sign(payload)
    }

    /// The user id in a valid, unexpired token; nil for anything else (bad signature, expired, garbage).
    func verify(_ token: String) async -> UUID? {
        guard let payload = try? await keys.verify(token, as: Payload.self) else { return nil }
        return UUID(uuidString: payload.userId)
    }
}
