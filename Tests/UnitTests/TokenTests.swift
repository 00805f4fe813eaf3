import Foundation
import HappeningCrypto
import Testing

@testable import HappeningAuth

/// Known answers computed apart from this code (Python's hmac, hashlib and base64), so a token ours signs is one
/// any JWT library verifies, and the other way round.
@Suite("HS256 tokens and libcrypto's digests, against known answers", .timeLimit(.minutes(10)))
struct TokenTests {
    static let secret = "unit-test-secret-that-is-long-enough-0123456789"
    static let user = UUID(uuidString: "00000000-0000-4000-8000-000000000001")!
    /// {"email":"a@example.com","exp":1800000000,"iat":1799996400,"role":"user","userId":"…0001"}, keys sorted.
    static let known =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJlbWFpbCI6ImFAZXhhbXBsZS5jb20iLCJleHAiOjE4MDAwMDAwMDAsImlhdCI6MTc5OTk5NjQwMCwicm9sZSI6InVzZXIiLCJ1c2VySWQiOiIwMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEifQ.m-psF1CNtfdQgZwGciXyirRi-OuZV1H-2a8pekdV4oE"
    static let issuedAt = Date(timeIntervalSince1970: 1_799_996_400)

    @Test("SHA-256 and HMAC-SHA256 give the published digests (FIPS 180 'abc', RFC 4231 case 2, the empty key)")
    func digests() {
        let hex = { (bytes: [UInt8]) in bytes.map { String(format: "%02x", $0) }.joined() }
        #expect(hex(SHA256.hash("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            hex(HMACSHA256.code(for: "what do ya want for nothing?".utf8, key: "Jefe".utf8))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(
            hex(HMACSHA256.code(for: "The quick brown fox jumps over the lazy dog".utf8, key: "key".utf8))
                == "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
        #expect(hex(HMACSHA256.code(for: [UInt8](), key: [UInt8]())) == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]) && !ConstantTime.equals([1, 2, 3], [1, 2, 4]) && !ConstantTime.equals([1], [1, 1]))
        // A key made ready once gives the same codes (RFC 4231 case 2; keys shorter than, equal to and longer than a block).
        #expect(
            hex(HMACSHA256.Key("Jefe".utf8).code(for: "what do ya want for nothing?".utf8))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        for keyLength in [0, 1, 32, 63, 64, 65, 131] {
            let key = (0..<keyLength).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let prepared = HMACSHA256.Key(key)
            for messageLength in [0, 1, 55, 64, 300] {
                let message = (0..<messageLength).map { UInt8(truncatingIfNeeded: $0 &* 13) }
                #expect(prepared.code(for: message) == HMACSHA256.code(for: message, key: key), "key \(keyLength), message \(messageLength)")
                #expect(prepared.code(for: message) == prepared.code(for: message), "the prepared state is not consumed")
            }
        }
    }

    @Test("a token is byte for byte the standard HS256 encoding, and verifies until it expires")
    func knownToken() throws {
        let tokens = TokenService(secret: Self.secret, ttl: .seconds(3_600))
        #expect(try tokens.issue(userId: Self.user, email: "a@example.com", role: "user", now: Self.issuedAt) == Self.known)
        #expect(tokens.verify(Self.known, now: Self.issuedAt) == Self.user)
        #expect(tokens.verify(Self.known, now: Self.issuedAt.addingTimeInterval(3_599)) == Self.user)
        #expect(tokens.verify(Self.known, now: Self.issuedAt.addingTimeInterval(3_600)) == nil, "expired at exp")
        // NumericDates with a fraction (as jwt-kit, which issued the tokens before, wrote them) still verify.
        let fractional =
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VySWQiOiIwMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJlbWFpbCI6ImFAZXhhbXBsZS5jb20iLCJyb2xlIjoidXNlciIsImV4cCI6MTgwMDAwMDAwMC41LCJpYXQiOjE3OTk5OTY0MDAuMjV9.Aam9xBAx1FLa1kx04-zfytVIoYIbcGFOt3uQ4je9tiY"
        #expect(tokens.verify(fractional, now: Self.issuedAt) == Self.user)
    }

    @Test("refused: another key, alg none or HS512, a changed payload or signature, padding, extra parts, garbage, oversize")
    func refused() {
        let tokens = TokenService(secret: Self.secret, ttl: .seconds(3_600))
        let parts = Self.known.split(separator: ".").map(String.init)
        let payload =
            "eyJlbWFpbCI6ImFAZXhhbXBsZS5jb20iLCJleHAiOjE4MDAwMDAwMDAsImlhdCI6MTc5OTk5NjQwMCwicm9sZSI6InVzZXIiLCJ1c2VySWQiOiIwMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEifQ"
        let adminPayload = Data(
            #"{"email":"a@example.com","exp":1800000000,"iat":1799996400,"role":"admin","userId":"00000000-0000-4000-8000-000000000001"}"#.utf8
        )
        .base64EncodedString().replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        let refused = [
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.\(payload).",
            "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.\(payload).gvrcQkNkDA-qb3HZeelP6FmrVuviXgISjk3hZMMisdj2Z5KbAk1VQ1KFr9roHSx-fmWkIDvSV4yEMcr0Z1Kh2g",
            "\(parts[0]).\(adminPayload).\(parts[2])",
            "\(parts[0]).\(parts[1]).\(parts[2].dropLast())A",
            "\(parts[0]).\(parts[1]).\(parts[2])=",
            Self.known + ".",
            "\(parts[0]).\(parts[1])",
            "garbage", "", "..", "a.b.c", "\(parts[0])\u{0}.\(parts[1]).\(parts[2])", "\u{e9}.\(parts[1]).\(parts[2])",
            "\(parts[0]).\(parts[1]).\(parts[2]).\(parts[2])",
            "\(parts[0]).\(String(repeating: "A", count: 5_000)).\(parts[2])",
        ]
        for token in refused {
            #expect(tokens.verify(token, now: Self.issuedAt) == nil, "\(token.prefix(80))")
        }
        #expect(TokenService(secret: Self.secret + "x", ttl: .seconds(60)).verify(Self.known, now: Self.issuedAt) == nil)
        // A header written otherwise that names HS256 is read as JSON and accepted when the signature holds.
        let header = Base64URL.encode(Array(#"{"typ":"JWT","alg":"HS256"}"#.utf8))
        let input = "\(header).\(parts[1])"
        let signed = input + "." + Base64URL.encode(HMACSHA256.Key(Self.secret.utf8).code(for: input.utf8))
        #expect(tokens.verify(signed, now: Self.issuedAt) == tokens.verify(Self.known, now: Self.issuedAt))
        #expect(tokens.verify(signed, now: Self.issuedAt) != nil)
    }

    @Test("a payload written as ours are is read byte by byte, to the claims JSONDecoder reads; any other payload is left to JSONDecoder")
    func plainClaims() throws {
        let id = "00000000-0000-4000-8000-000000000001"
        let plain = [
            #"{"email":"a@example.com","exp":1800000000,"iat":1799996400,"role":"user","userId":"\#(id)"}"#,
            #"{"email":"a@example.com","exp":1800000000,"iat":1799996400,"role":"admin","userId":"\#(id)","ver":3}"#,
            #"{"userId":"\#(id.uppercased())","role":"user","iat":0,"exp":5,"email":"","ver":0}"#,
        ]
        for payload in plain {
            let read = try #require(PlainClaims.read(Array(payload.utf8)), "\(payload)")
            let decoded = try JSONDecoder().decode(TokenService.Payload.self, from: Data(payload.utf8))
            #expect(read == VerifiedTokens.Claims(userID: try #require(UUID(uuidString: decoded.userId)), version: decoded.ver, expires: decoded.exp))
        }
        let fields = #""iat":1799996400,"role":"user","userId":"\#(id)""#
        let others = [
            #"{"email":"a@example.com","exp":1800000000.5,\#(fields)}"#, #"{"email":"a\"b@example.com","exp":1800000000,\#(fields)}"#,
            #"{ "email":"a@example.com","exp":1800000000,\#(fields)}"#, #"{"email":"a@example.com","exp":1800000000,\#(fields),"name":"x"}"#,
            #"{"email":"a@example.com","exp":1,"exp":1800000000,\#(fields)}"#, #"{"email":"a@example.com",\#(fields)}"#,
            #"{"email":"a@example.com","exp":01800000000,\#(fields)}"#, #"{"email":"a@example.com","exp":1e9,\#(fields)}"#,
            #"{"email":"a@example.com","exp":-1,\#(fields)}"#, #"{"email":"a@example.com","exp":1800000000000000,\#(fields)}"#,
            #"{"email":"a@example.com","exp":1800000000,\#(fields)}x"#, #"{"email":"a@example.com","exp":1800000000,\#(fields),"ver":"1"}"#,
            #"{"email":"a@example.com","exp":1800000000,"iat":1799996400,"role":"user","userId":"not-a-uuid"}"#, "[]", "", "{}",
        ]
        for payload in others { #expect(PlainClaims.read(Array(payload.utf8)) == nil, "\(payload)") }
        // Left to JSONDecoder, they read as before: a fraction of a second is dropped, an escape is read, an extra key ignored,
        // the first of two `exp` kept (JSONDecoder's choice).
        for (index, expected) in [(0, Int64(1_800_000_000)), (1, 1_800_000_000), (2, 1_800_000_000), (3, 1_800_000_000), (4, 1)] {
            #expect(TokenService.claims(Array(others[index].utf8))?.expires == expected, "\(others[index])")
        }
        #expect(TokenService.claims(Array(others[8].utf8))?.expires == -1)
        // What the service issues takes the plain path.
        let payload = try #require(JSONWebToken(key: HMACSHA256.Key(Self.secret.utf8)).verifiedPayload(Self.known))
        #expect(PlainClaims.read(payload) == VerifiedTokens.Claims(userID: Self.user, version: 0, expires: 1_800_000_000))
    }

    @Test("base64url: every length round-trips against Foundation's base64; padding, other alphabets, stray lengths and non-zero final bits are refused")
    func base64URL() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<64 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let encoded = Base64URL.encode(bytes)
            let standard = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            #expect(encoded == standard.replacingOccurrences(of: "=", with: ""))
            #expect(Base64URL.decode(Substring(encoded)) == bytes, "length \(length)")
        }
        #expect(Base64URL.decode("QQ") == [0x41])
        for refused in ["QQ==", "Q", "QR", "a+b/", "ab c", "QUJD\u{e9}"] { #expect(Base64URL.decode(Substring(refused)) == nil, "\(refused)") }
    }
}
