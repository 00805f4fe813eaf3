import Hummingbird

/// An error a client is meant to see: an HTTP status, a machine code, a human message and, for validation
/// failures, a field → problem map. Rendered as `{"error": …, "code": …, "details": …}` by
/// ``ErrorMiddleware``, the one place errors become responses.
struct AppError: Error, Sendable, Equatable {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    var details: [String: String]?
    /// Seconds for a `Retry-After` header (429, 503).
    var retryAfter: Int?
    /// The `Allow` header of a 405: the methods the path does answer.
    var allow: String?

    // MARK: The errors the API uses

    static func badRequest(_ message: String, code: String = "bad_request") -> AppError {
        AppError(status: .badRequest, code: code, message: message)
    }

    /// Validation failed; `details` says what is wrong with each field.
    static func validation(_ details: [String: String]) -> AppError {
        AppError(status: .badRequest, code: "validation_failed", message: "Some fields are missing or invalid", details: details)
    }

    static func unauthorized(_ message: String = "Authentication required", code: String = "unauthorized") -> AppError {
        AppError(status: .unauthorized, code: code, message: message)
    }

    static func forbidden(_ message: String = "You are not allowed to do this", code: String = "forbidden") -> AppError {
        AppError(status: .forbidden, code: code, message: message)
    }

    static func notFound(_ message: String = "Not found", code: String = "not_found") -> AppError {
        AppError(status: .notFound, code: code, message: message)
    }

    static func conflict(_ message: String, code: String) -> AppError {
        AppError(status: .conflict, code: code, message: message)
    }

    static func unprocessable(_ message: String, code: String) -> AppError {
        AppError(status: .unprocessableContent, code: code, message: message)
    }

    /// 422 `sold_out`: fewer than the requested tickets are left to book (`left` of them).
    static func soldOut(left: Int) -> AppError {
        unprocessable("Not enough tickets left (\(left) available)", code: "sold_out")
    }

    /// 400 `nul_in_text`: a NUL character in text (PostgreSQL text cannot hold one; C strings would cut it short).
    static let nulInText = AppError.badRequest("Text in the request contains a NUL character (\\u0000), which is not allowed", code: "nul_in_text")

    static func tooManyRequests(retryAfter: Int) -> AppError {
        AppError(status: .tooManyRequests, code: "rate_limited", message: "Too many attempts; try again later", retryAfter: retryAfter)
    }

    static func unavailable(_ dependency: String, retryAfter: Int = 5) -> AppError {
        AppError(
            status: .serviceUnavailable, code: "dependency_unavailable",
            message: "A service the server depends on (\(dependency)) is not answering; try again shortly", retryAfter: retryAfter)
    }
}

extension AppError {
    /// The headers every error response carries: JSON, and `Retry-After` / `Allow` when the error has them.
    var responseHeaders: HTTPFields {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if let allow { headers[.allow] = allow }
        return headers
    }

    /// The JSON every error response carries: `{"code", "details"?, "error", "request_id"?}`, keys sorted, written
    /// straight to bytes (the answer of a refusal is on the hot path). `requestID` only for 5xx (what to quote when
    /// reporting it).
    func body(requestID: String?) -> ByteBuffer {
        var json = #"{"code":"# + JSONText.quoted(code)
        if let details, !details.isEmpty {
            json += #","details":{"#
            json += details.keys.sorted().map { JSONText.quoted($0) + ":" + JSONText.quoted(details[$0]!) }.joined(separator: ",")
            json += "}"
        }
        json += #","error":"# + JSONText.quoted(message)
        if let requestID { json += #","request_id":"# + JSONText.quoted(requestID) }
        json += "}"
        return ByteBuffer(string: json)
    }
}

/// JSON text written by hand where an encoder would cost more than the answer.
enum JSONText {
    /// `text` as a JSON string literal, quotes included (RFC 8259 escapes: `"`, `\` and control characters).
    static func quoted(_ text: String) -> String {
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) { return "\"" + text + "\"" }
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
