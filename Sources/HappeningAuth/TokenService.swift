import Foundation
import HappeningCrypto
import Synchronization

/// Issues and verifies the API's JWTs (HS256 with `JWT_SECRET`). The payload keeps the original's
/// claims `{userId, email, role}` plus `exp` and `iat` (seconds since 1970) and `ver`, the account's token version
/// when it was issued (absent in older tokens: 0): raising an account's version revokes every token issued before.
///
/// Shared by the server (login, request authentication) and the seeder (bench users' tokens), so a token
/// the seeder mints is exactly one the server would have issued.
public struct TokenService: Sendable {
    private let token: JSONWebToken
    private let ttl: Duration
    /// Tokens whose signature and claims were checked already: a client sends the same token with every request,
    /// and checking one (base64, HMAC-SHA256, JSON) costs more than the rest of a refused booking.
    private let verified = VerifiedTokens(capacity: 65_536)

    /// The token's claims.
    public struct Payload: Codable, Equatable, Sendable {
        public var userId: String
        public var email: String
        public var role: String
        /// Expiry, seconds since 1970 (a NumericDate).
        public var exp: Int64
        /// Issue time, seconds since 1970.
        public var iat: Int64
        /// The account's token version at issue.
        public var ver: Int

        init(userId: String, email: String, role: String, exp: Int64, iat: Int64, ver: Int) {
            (self.userId, self.email, self.role, self.exp, self.iat, self.ver) = (userId, email, role, exp, iat, ver)
        }

        private enum CodingKeys: String, CodingKey { case userId, email, role, exp, iat, ver }

        /// NumericDates may carry a fraction (tokens from jwt-kit, which issued them before, did): read as seconds.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            userId = try container.decode(String.self, forKey: .userId)
            email = try container.decode(String.self, forKey: .email)
            role = try container.decode(String.self, forKey: .role)
            exp = try Self.seconds(container, .exp)
            iat = try Self.seconds(container, .iat)
            ver = try container.decodeIfPresent(Int.self, forKey: .ver) ?? 0
        }

        /// `ver` is left out at 0 (an account whose password and role never changed): such tokens stay byte for byte
        /// what they were before versions existed.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(userId, forKey: .userId)
            try container.encode(email, forKey: .email)
            try container.encode(role, forKey: .role)
            try container.encode(exp, forKey: .exp)
            try container.encode(iat, forKey: .iat)
            if ver != 0 { try container.encode(ver, forKey: .ver) }
        }

        private static func seconds(_ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> Int64 {
            guard let seconds = Int64(exactly: try container.decode(Double.self, forKey: key).rounded(.down)) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "not a NumericDate")
            }
            return seconds
        }
    }

    /// - Parameters:
    ///   - secret: the HMAC key (`JWT_SECRET`).
    ///   - ttl: how long an issued token stays valid.
    public init(secret: String, ttl: Duration) {
        self.token = JSONWebToken(key: HMACSHA256.Key(secret.utf8))
        self.ttl = ttl
    }

    /// A signed token for the user, valid for the configured TTL from `now`.
    public func issue(userId: UUID, email: String, role: String, version: Int = 0, now: Date = Date()) throws -> String {
        let issued = Int64(now.timeIntervalSince1970.rounded(.down))
        return try token.sign(
            Payload(
                userId: userId.uuidString.lowercased(), email: email, role: role,
                exp: issued + ttl.components.seconds, iat: issued, ver: version))
    }

    /// The user id in a valid, unexpired token; nil for anything else (bad signature, another algorithm, expired,
    /// garbage).
    public func verify(_ text: String, now: Date = Date()) -> UUID? { verifiedClaims(text, now: now)?.userID }

    /// The user id and token version of a valid, unexpired token; nil for anything else.
    /// A token checked before is found by its whole text (the signature included, so only text this key signed can
    /// be found); its expiry is compared with `now` on every use.
    public func verifiedClaims(_ text: String, now: Date = Date()) -> (userID: UUID, version: Int)? {
        let claims: VerifiedTokens.Claims
        if let known = verified[text] {
            claims = known
        } else {
            guard let payload = token.verifiedPayload(text), let read = Self.claims(payload) else { return nil }
            claims = read
            verified[text] = claims
        }
        guard Double(claims.expires) > now.timeIntervalSince1970 else { return nil }
        return (claims.userID, claims.version)
    }
}

extension TokenService {
    /// A verified payload's claims: read byte by byte when it is written as ours are (``PlainClaims``), else decoded.
    static func claims(_ payload: [UInt8]) -> VerifiedTokens.Claims? {
        if let plain = PlainClaims.read(payload) { return plain }
        guard let decoded = try? JSONDecoder().decode(Payload.self, from: Data(payload)), let id = UUID(uuidString: decoded.userId) else { return nil }
        return VerifiedTokens.Claims(userID: id, version: decoded.ver, expires: decoded.exp)
    }
}

/// The claims of tokens already verified, by token text; at most `capacity` of them (all forgotten when full: a
/// forgotten token is only verified again).
final class VerifiedTokens: Sendable {
    struct Claims: Sendable, Equatable {
        let userID: UUID
        let version: Int
        let expires: Int64
    }

    private let capacity: Int
    private let claims = Mutex([String: Claims]())

    init(capacity: Int) { self.capacity = capacity }

    subscript(text: String) -> Claims? {
        get { claims.withLock { $0[text] } }
        set {
            claims.withLock { held in
                if held.count >= capacity { held.removeAll(keepingCapacity: true) }
                held[text] = newValue
            }
        }
    }
}
