import Foundation
import HappeningCrypto

/// Compact JSON Web Tokens signed with HS256 (RFC 7519, RFC 7515): the one algorithm the API issues and the only
/// one it accepts. A token naming any other `alg` (`none` included), with a bad signature, a malformed part or
/// more than ``maximumLength`` bytes is refused before its claims are read.
struct JSONWebToken {
    /// Longer tokens are refused unread (ours are about 250 bytes).
    static let maximumLength = 4_096
    private static let header = #"{"alg":"HS256","typ":"JWT"}"#
    /// ``header`` as it appears in the tokens we issue: such a header needs no JSON decoding.
    private static let encodedHeader = Base64URL.encode(Array(header.utf8))

    private struct Header: Decodable {
        var alg: String
        var typ: String?
    }

    let key: HMACSHA256.Key

    /// `header.payload.signature` for `claims`.
    func sign(_ claims: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let signingInput = Base64URL.encode(Array(Self.header.utf8)) + "." + Base64URL.encode(Array(try encoder.encode(claims)))
        return signingInput + "." + Base64URL.encode(key.code(for: signingInput.utf8))
    }

    /// The claims of a token this key signed with HS256; nil for anything else.
    func verify<Claims: Decodable>(_ token: String, as _: Claims.Type) -> Claims? {
        guard let payload = verifiedPayload(token) else { return nil }
        return try? JSONDecoder().decode(Claims.self, from: Data(payload))
    }

    /// The payload's bytes (JSON, not read yet) of a token this key signed with HS256; nil for anything else.
    func verifiedPayload(_ token: String) -> [UInt8]? {
        var token = token
        return token.withUTF8 { verifiedPayload(bytes: $0) }
    }

    /// ``verifiedPayload(_:)`` on the token's UTF-8 bytes: found by byte, not by `Character` (splitting the `String`
    /// and comparing its parts was most of the check's time for a token not seen before).
    private func verifiedPayload(bytes token: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let dot = UInt8(ascii: ".")
        guard token.count <= Self.maximumLength, let headerEnd = token.firstIndex(of: dot),
            let payloadEnd = token[(headerEnd + 1)...].firstIndex(of: dot),
            !token[(payloadEnd + 1)...].contains(dot)
        else { return nil }
        let header = token[..<headerEnd]
        guard header.elementsEqual(Self.encodedHeader.utf8) || Self.namesHS256(header),
            let signature = Base64URL.decode(token[(payloadEnd + 1)...]), signature.count == SHA256.byteCount,
            key.isValid(signature, for: token[..<payloadEnd])
        else { return nil }
        return Base64URL.decode(token[(headerEnd + 1)..<payloadEnd])
    }

    /// True for a base64url header, other than our own encoding of it, that names `alg` HS256.
    private static func namesHS256(_ part: some Collection<UInt8>) -> Bool {
        guard let bytes = Base64URL.decode(part), let header = try? JSONDecoder().decode(Header.self, from: Data(bytes)) else { return false }
        return header.alg == "HS256"
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

    /// The bytes of unpadded base64url text; nil when it is not that (padding, other alphabets, a stray length, or
    /// final bits that are not zero, so each byte string has exactly one accepted text).
    static func decode(_ text: Substring) -> [UInt8]? { decode(text.utf8) }

    /// ``decode(_:)`` of text given as its UTF-8 bytes.
    static func decode(_ utf8: some Collection<UInt8>) -> [UInt8]? {
        guard utf8.count % 4 != 1 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        for character in utf8 {
            let value: UInt8
            switch character {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = character - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = character - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0") + 52
            case UInt8(ascii: "-"): value = 62
            case UInt8(ascii: "_"): value = 63
            default: return nil
            }
            buffer = (buffer << 6) | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
                buffer &= (1 << UInt32(bits)) - 1
            }
        }
        return buffer == 0 ? bytes : nil
    }
}
