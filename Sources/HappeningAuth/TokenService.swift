import Foundation
import JWTKit

/// Issues and verifies the API's JWTs (HS256 with `JWT_SECRET`). The payload keeps the original's
/// claims `{userId, email, role}` plus `exp` and `iat`.
///
/// Shared by the server (login, request authentication) and the seeder (bench users' tokens), so a token
/// the seeder mints is exactly one the server would have issued.
public struct TokenService: Sendable {
    private let keys: JWTKeyCollection
    private let ttl: Duration

    /// The token's claims.
    public struct Payload: JWTPayload, Equatable {
        public var userId: String
        public var email: String
        public var role: String
        public var exp: ExpirationClaim
        public var iat: IssuedAtClaim

        public func verify(using algorithm: some JWTAlgorithm) throws {
            try exp.verifyNotExpired()
        }
    }

    /// - Parameters:
    ///   - secret: the HMAC key (`JWT_SECRET`).
    ///   - ttl: how long an issued token stays valid.
    public init(secret: String, ttl: Duration) async {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.keys = keys
        self.ttl = ttl
    }

    /// A signed token for the user, valid for the configured TTL from `now`.
    public func issue(userId: UUID, email: String, role: String, now: Date = Date()) async throws -> String {
        let payload = Payload(
            userId: userId.uuidString.lowercased(), email: email, role: role,
            exp: ExpirationClaim(value: now.addingTimeInterval(Double(ttl.components.seconds))),
            iat: IssuedAtClaim(value: now))
        return try await keys.sign(payload)
    }

    /// The user id in a valid, unexpired token; nil for anything else (bad signature, expired, garbage).
    public func verify(_ token: String) async -> UUID? {
        guard let payload = try? await keys.verify(token, as: Payload.self) else { return nil }
        return UUID(uuidString: payload.userId)
    }
}
