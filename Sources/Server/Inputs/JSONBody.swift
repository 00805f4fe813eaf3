import Foundation
import Hummingbird

extension Request {
    /// Decodes a JSON body: a body over the context's limit is 413, anything that is not a JSON object
    /// of the right shape is 400 (`invalid_json`). Field rules are checked by the caller.
    func decodeJSON<T: Decodable>(as type: T.Type, context: AppRequestContext) async throws -> T {
        guard let value = try await decodeOptionalJSON(as: type, context: context) else {
            throw AppError.badRequest("A JSON body is required", code: "invalid_json")
        }
        return value
    }

    /// Like ``decodeJSON(as:context:)`` for a route whose body may be left out: nil for an empty body.
    func decodeOptionalJSON<T: Decodable>(as type: T.Type, context: AppRequestContext) async throws -> T? {
        try Self.decodeJSON(try await collectedBody(context: context), as: type)
    }

    /// The whole body; over the context's limit is 413.
    func collectedBody(context: AppRequestContext) async throws -> ByteBuffer {
        do {
            return try await body.collect(upTo: context.maxUploadSize)
        } catch {
            throw AppError(status: .contentTooLarge, code: "body_too_large", message: "The request body is too large")
        }
    }

    /// The body's bytes, already collected, decoded as ``decodeOptionalJSON(as:context:)`` does (nil when empty).
    static func decodeJSON<T: Decodable>(_ buffer: ByteBuffer, as type: T.Type) throws -> T? {
        guard buffer.readableBytes > 0 else { return nil }
        if Self.hasNULEscape(buffer.readableBytesView) {
            throw AppError.nulInText
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw AppError.validation([field.isEmpty ? "body" : field: "has the wrong type"])
        } catch {
            throw AppError.badRequest("The body is not valid JSON", code: "invalid_json")
        }
    }
}

extension Request {
    /// True when JSON text holds the escape `\u0000` (a NUL character in a decoded string; raw control characters are
    /// not valid JSON). A backslash preceded by an odd number of backslashes is itself escaped and starts nothing.
    static func hasNULEscape(_ bytes: some Collection<UInt8>) -> Bool {
        let pattern: [UInt8] = Array("u0000".utf8)
        var backslashes = 0
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") {
                backslashes += 1
            } else {
                if backslashes % 2 == 1, byte == UInt8(ascii: "u"), bytes[index...].starts(with: pattern) { return true }
                backslashes = 0
            }
            index = bytes.index(after: index)
        }
        return false
    }
}

/// Collects field problems and throws them together as one 400 `validation_failed`.
struct Validator {
    private(set) var problems: [String: String] = [:]

    mutating func require(_ value: String?, _ field: String, maxLength: Int = 200) -> String {
        let trimmed = value?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if trimmed.isEmpty { problems[field] = "is required" } else if trimmed.count > maxLength { problems[field] = "must be at most \(maxLength) characters" }
        return trimmed
    }

    mutating func email(_ value: String?, _ field: String = "email") -> String {
        let email = require(value, field, maxLength: 254).lowercased()
        guard problems[field] == nil else { return email }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        if parts.count != 2 || parts[0].isEmpty || !parts[1].contains(".") || parts[1].hasPrefix(".") || parts[1].hasSuffix(".")
            || email.contains(where: { $0.isWhitespace })
        {
            problems[field] = "must be an email address"
        }
        return email
    }

    /// 8 to 72 bytes (bcrypt's limit), at least one letter and one digit.
    mutating func password(_ value: String?, _ field: String = "password") -> String {
        guard let password = value, !password.isEmpty else {
            problems[field] = "is required"
            return ""
        }
        if password.utf8.count < 8 || password.utf8.count > 72 {
            problems[field] = "must be 8 to 72 characters"
        } else if !password.contains(where: \.isLetter) || !password.contains(where: \.isNumber) {
            problems[field] = "must contain a letter and a digit"
        }
        return password
    }

    mutating func fail(_ field: String, _ problem: String) { problems[field] = problem }

    func check() throws {
        if !problems.isEmpty { throw AppError.validation(problems) }
    }
}
