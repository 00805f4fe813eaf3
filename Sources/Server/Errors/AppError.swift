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
