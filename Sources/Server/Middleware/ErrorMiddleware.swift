import Foundation
import HappeningAMQP
import HappeningPostgres
import HappeningRedis
import Hummingbird
import Logging
import Razorpay

/// The one place where errors become HTTP responses.
///
/// - ``AppError``: its status, code, message and details.
/// - Hummingbird's own `HTTPError`s (unknown route, body too large, malformed request): the same JSON shape.
/// - A dependency that does not answer (PostgreSQL, Redis, RabbitMQ): 503 with `Retry-After`.
/// - Malformed input PostgreSQL caught (bad UUID text, out-of-range number): 400.
/// - Anything else: 500 with the request id and nothing internal in the body; the error is logged.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The routes' methods, for 405 on a known path asked with another method (nil: plain 404).
    var routeMethods: RouteMethods?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            var mapped = ErrorMapping.appError(for: error, logger: context.logger)
            if mapped.code == "route_not_found", let allowed = routeMethods?.allowed(for: request.uri.path), !allowed.isEmpty {
                mapped = AppError(
                    status: .methodNotAllowed, code: "method_not_allowed",
                    message: "\(request.method.rawValue) is not allowed here; allowed: \(allowed.joined(separator: ", "))",
                    allow: allowed.joined(separator: ", "))
            }
            response = render(mapped, context: context)
        }
        response.headers[.init("X-Request-Id")!] = context.id
        return response
    }

    private func render(_ error: AppError, context: Context) -> Response {
        Response(
            status: error.status, headers: error.responseHeaders, body: .init(byteBuffer: error.body(requestID: error.status.code >= 500 ? context.id : nil)))
    }
}

/// What a client is told for an error: the one mapping, used by ``ErrorMiddleware`` and by the answers given on the
/// event loop (``InlineRoutes``).
enum ErrorMapping {
    static func appError(for error: any Error, logger: Logger) -> AppError {
        switch error {
        case let error as AppError:
            return error
        case let error as HTTPError:
            switch error.status {
            case .contentTooLarge: return AppError(status: error.status, code: "body_too_large", message: "The request body is too large")
            case .notFound: return .notFound("No such route", code: "route_not_found")
            case .methodNotAllowed: return AppError(status: error.status, code: "method_not_allowed", message: "Method not allowed")
            default:
                return AppError(
                    status: error.status, code: error.status.code < 500 ? "bad_request" : "internal_error",
                    message: error.status.code < 500 ? (error.body ?? "Bad request") : "Internal server error")
            }
        case let error as PostgresError where error.sqlState == PostgresError.nulInText.sqlState:
            return .nulInText
        case let error as PostgresError where error.sqlState == "57014":
            logger.warning("a statement ran past DB_STATEMENT_TIMEOUT_MS", metadata: ["error": "\(error)"])
            return AppError(
                status: .serviceUnavailable, code: "query_timeout", message: "The request took too long to answer; try again shortly", retryAfter: 5)
        case let error as PostgresError where error.isInvalidInput:
            return .badRequest("A value in the request is malformed or out of range", code: "invalid_value")
        case let error as PostgresError where error.isTransient || error.kind == .clientClosed:
            logger.warning("database unavailable", metadata: ["error": "\(error)"])
            return .unavailable("database")
        case let error as RedisError where error.kind != .server:
            logger.warning("redis unavailable", metadata: ["error": "\(error)"])
            return .unavailable("cache")
        case let error as RazorpayError:
            logger.warning("payment gateway call failed", metadata: ["error": "\(error)"])
            if case .unavailable = error.kind { return .unavailable("payment gateway") }
            return AppError(status: .badGateway, code: "gateway_error", message: "The payment gateway refused the request; nothing was charged or changed")
        case let error as AMQPError:
            logger.warning("queue unavailable", metadata: ["error": "\(error)"])
            return .unavailable("queue")
        default:
            logger.error("unexpected error", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            return AppError(status: .internalServerError, code: "internal_error", message: "Internal server error")
        }
    }
}
