import Foundation
import HappeningModel

/// The claims of a payload written the way ``TokenService`` writes it — one JSON object without whitespace, keys
/// among `email`, `exp`, `iat`, `role`, `userId` and `ver`, each at most once, strings without escapes, whole-number
/// dates — read byte by byte. Anything else gives nil and is read by `JSONDecoder` instead (the two agree on every
/// payload this reader accepts). A sale's burst brings thousands of tokens the server has not seen yet, and decoding
/// each with `JSONDecoder` cost more than the HMAC that checked it.
enum PlainClaims {
    /// The user, the token version (absent: 0) and the expiry of `payload`; nil when it is not plain.
    static func read(_ payload: [UInt8]) -> VerifiedTokens.Claims? {
        payload.withUnsafeBytes { bytes -> VerifiedTokens.Claims? in
            var reader = Reader(bytes: bytes)
            return reader.claims()
        }
    }

    private enum Key: UInt8 {
        case email = 1
        case exp = 2
        case iat = 4
        case role = 8
        case userId = 16
        case ver = 32

        init?(_ name: UnsafeRawBufferPointer) {
            switch name.count {
            case 3 where name.elementsEqual("exp".utf8): self = .exp
            case 3 where name.elementsEqual("iat".utf8): self = .iat
            case 3 where name.elementsEqual("ver".utf8): self = .ver
            case 4 where name.elementsEqual("role".utf8): self = .role
            case 5 where name.elementsEqual("email".utf8): self = .email
            case 6 where name.elementsEqual("userId".utf8): self = .userId
            default: return nil
            }
        }
    }

    /// Every key `Payload` requires.
    private static let required = Key.email.rawValue | Key.exp.rawValue | Key.iat.rawValue | Key.role.rawValue | Key.userId.rawValue

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var at = 0

        mutating func claims() -> VerifiedTokens.Claims? {
            guard take(UInt8(ascii: "{")) else { return nil }
            var seen: UInt8 = 0
            var user: UUID?
            var expires: Int64 = 0
            var version = 0
            repeat {
                guard let name = string(), let key = Key(name), seen & key.rawValue == 0, take(UInt8(ascii: ":")) else { return nil }
                seen |= key.rawValue
                switch key {
                case .email, .role:
                    guard string() != nil else { return nil }
                case .userId:
                    guard let text = string(), let id = UUID(canonical: text) else { return nil }
                    user = id
                case .exp, .iat, .ver:
                    guard let value = wholeNumber() else { return nil }
                    if key == .exp { expires = value } else if key == .ver { version = Int(value) }
                }
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")), at == bytes.count, seen & PlainClaims.required == PlainClaims.required, let user else { return nil }
            return VerifiedTokens.Claims(userID: user, version: version, expires: expires)
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard at < bytes.count, bytes[at] == byte else { return false }
            at += 1
            return true
        }

        /// A string's bytes (between its quotes); nil at an escape or a control character.
        mutating func string() -> UnsafeRawBufferPointer? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = at
            while at < bytes.count {
                let byte = bytes[at]
                if byte == UInt8(ascii: "\"") {
                    at += 1
                    return UnsafeRawBufferPointer(rebasing: bytes[start..<(at - 1)])
                }
                guard byte != UInt8(ascii: "\\"), byte >= 0x20 else { return nil }
                at += 1
            }
            return nil
        }

        /// Digits only, no leading zero, at most 15 of them (a `Double` holds each such number exactly).
        mutating func wholeNumber() -> Int64? {
            let start = at
            var value: Int64 = 0
            while at < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) {
                value = value * 10 + Int64(bytes[at] &- UInt8(ascii: "0"))
                at += 1
            }
            let digits = at - start
            guard digits >= 1, digits <= 15, digits == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
            // A fraction or an exponent: not plain.
            guard at == bytes.count || (bytes[at] != UInt8(ascii: ".") && bytes[at] != UInt8(ascii: "e") && bytes[at] != UInt8(ascii: "E")) else {
                return nil
            }
            return value
        }
    }
}
