import Foundation
import HappeningCrypto

/// Compact JSON Web Tokens signed with HS256 (RFC 7519, RFC 7515): the one algorithm the API issues and the only
/// one it accepts. A token naming any other `alg` (`none` included), with a bad signature, a malformed part or
/// more than ``maximumLength`` bytes is refused before its claims are read.
struct JSONWebToken {
    /// Longer tokens are refused unread (ours are about 250 bytes).
    static let maximumLength = 4_096
    private static let header = #"{"alg":"HS256","typ":"JWT"}"#

    private struct Header: Decodable {
        var alg: String
        var typ: String?
    }

    let key: [UInt8]

    /// `header.payload.signature` for `claims`.
    func sign(_ claims: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let signingInput = Base64URL.encode(Array(Self.header.utf8)) + "." + Base64URL.encode(Array(try encoder.encode(claims)))
        return signingInput + "." + Base64URL.encode(HMACSHA256.code(for: signingInput.utf8, key: key))
    }

    /// The claims of a token this key signed with HS256; nil for anything else.
    func verify<Claims: Decodable>(_ token: String, as _: Claims.Type) -> Claims? {
        guard token.utf8.count <= Self.maximumLength else { return nil }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
              let headerBytes = Base64URL.decode(parts[0]),
              let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes)), header.alg == "HS256",
              let signature = Base64URL.decode(parts[2]), signature.count == SHA256.byteCount,
              HMACSHA256.isValid(signature, for: token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count), key: key),
              let payload = Base64URL.decode(parts[1])
        else { return nil }
        return try? JSONDecoder().decode(Claims.self, from: Data(payload))
    }
}

/// Base64 with the URL alphabet and no padding (RFC 4648 §5), as JWTs use it.
enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    /// The bytes of unpadded base64url text; nil when it is not that (padding, other alphabets, a stray length).
    static func decode(_ text: Substring) -> [UInt8]? {
        guard text.utf8.count % 4 != 1,
              text.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0)
                  || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) })
        else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.utf8.count % 4) % 4)
        return Data(base64Encoded: standard).map(Array.init)
    }
}
