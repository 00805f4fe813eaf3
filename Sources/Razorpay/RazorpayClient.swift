import Foundation
import HappeningHTTP
import Logging
import ServiceLifecycle

/// Razorpay's REST API (orders, payments, refunds, RazorpayX payouts) over the project's libcurl client.
///
/// ```swift
/// let razorpay = RazorpayClient(configuration: try RazorpayConfiguration(settings))
/// let order = try await razorpay.createOrder(amount: 49_900, receipt: "booking_\(id)", notes: ["booking_id": "\(id)"])
/// ```
///
/// - Every call has `timeout` per attempt and at most `attempts` attempts; only a 5xx, a 409 (an idempotent request
///   with the same key still being processed), a timeout or a refused connection is retried (with 0.2 s, 0.4 s … backoff). A 4xx is returned at once as ``RazorpayError/Kind/rejected(status:code:message:)``.
/// - Creating calls carry an idempotency key (the order receipt with `unique_receipt`, `X-Refund-Idempotency`,
///   `X-Payout-Idempotency`), so a
///   retry after a lost answer cannot create a second order, refund or payout.
/// - Keys go out as HTTP basic authentication and are never logged.
/// - A lifecycle service: add it to the service group that runs its users, which stops its threads at shutdown
///   (or call ``shutdown()`` when it was used for one pass).
public final class RazorpayClient: Service, Sendable {
    public let configuration: RazorpayConfiguration
    private let http: CurlHTTPClient
    private let logger: Logger

    public init(configuration: RazorpayConfiguration, logger: Logger = Logger(label: "happening.razorpay")) {
        self.configuration = configuration
        self.http = CurlHTTPClient(maxConcurrentRequests: 8)
        self.logger = logger
    }

    /// Stops the HTTP client's threads.
    public func shutdown() async { await http.shutdown() }

    /// Waits for the service group's graceful shutdown, then stops the HTTP client's threads.
    public func run() async throws { try await http.run() }

    // MARK: Orders and payments

    /// `POST /v1/orders`: an order for `amount` paise. Sent with `unique_receipt: true`, so the receipt is the idempotency
    /// key: a retried create (a timeout, two racing requests) returns the same order instead of a second one.
    public func createOrder(amount: Int64, currency: String = "INR", receipt: String, notes: [String: String] = [:]) async throws -> RazorpayOrder {
        struct Body: Encodable {
            let amount: Int64
            let currency: String
            let receipt: String
            let unique_receipt: Bool
            let notes: [String: String]
        }
        return try await call(
            "create order", "POST", "/v1/orders", body: Body(amount: amount, currency: currency, receipt: receipt, unique_receipt: true, notes: notes))
    }

    /// `GET /v1/orders/:id`.
    public func fetchOrder(_ id: String) async throws -> RazorpayOrder {
        try await call("fetch order", "GET", "/v1/orders/\(try pathComponent(id))")
    }

    /// `GET /v1/payments/:id`.
    public func fetchPayment(_ id: String) async throws -> RazorpayPayment {
        try await call("fetch payment", "GET", "/v1/payments/\(try pathComponent(id))")
    }

    /// `GET /v1/orders/:id/payments`: every payment attempt on an order (for reconciliation).
    public func payments(ofOrder id: String) async throws -> [RazorpayPayment] {
        struct Collection: Decodable { let items: [RazorpayPayment] }
        let collection: Collection = try await call("list order payments", "GET", "/v1/orders/\(try pathComponent(id))/payments")
        return collection.items
    }

    // MARK: Refunds

    /// `POST /v1/payments/:id/refund`: refunds `amount` paise. Razorpay makes a refund idempotent only by the
    /// `X-Refund-Idempotency` header (its receipt is a label, not a key): the receipt goes out as that key too, so
    /// asking again with the same receipt and body returns the same refund instead of a second one.
    public func createRefund(paymentID: String, amount: Int64, receipt: String, notes: [String: String] = [:]) async throws -> RazorpayRefund {
        struct Body: Encodable {
            let amount: Int64
            let speed: String
            let receipt: String
            let notes: [String: String]
        }
        return try await call(
            "create refund", "POST", "/v1/payments/\(try pathComponent(paymentID))/refund",
            body: Body(amount: amount, speed: "normal", receipt: receipt, notes: notes), headers: [("X-Refund-Idempotency", receipt)])
    }

    /// `GET /v1/payments/:id/refunds`: every refund of a payment (to find one made by an earlier attempt).
    public func refunds(ofPayment id: String) async throws -> [RazorpayRefund] {
        struct Collection: Decodable { let items: [RazorpayRefund] }
        let collection: Collection = try await call("list payment refunds", "GET", "/v1/payments/\(try pathComponent(id))/refunds")
        return collection.items
    }

    /// `GET /v1/refunds/:id`.
    public func fetchRefund(_ id: String) async throws -> RazorpayRefund {
        try await call("fetch refund", "GET", "/v1/refunds/\(try pathComponent(id))")
    }

    // MARK: Payouts (RazorpayX)

    /// `POST /v1/payouts` (composite: contact and bank account inline), with `X-Payout-Idempotency: idempotencyKey`.
    public func createPayout(
        amount: Int64, to destination: RazorpayPayoutDestination, referenceID: String, idempotencyKey: String,
        narration: String, notes: [String: String] = [:]
    ) async throws -> RazorpayPayout {
        struct Contact: Encodable {
            let name: String
            let type: String
            let reference_id: String
        }
        struct BankAccount: Encodable {
            let name: String
            let ifsc: String
            let account_number: String
        }
        struct FundAccount: Encodable {
            let account_type: String
            let bank_account: BankAccount
            let contact: Contact
        }
        struct Body: Encodable {
            let amount: Int64
            let currency: String
            let mode: String
            let purpose: String
            let fund_account: FundAccount
            let queue_if_low_balance: Bool
            let reference_id: String
            let narration: String
            let notes: [String: String]
        }
        let body = Body(
            amount: amount, currency: "INR", mode: "IMPS", purpose: "payout",
            fund_account: FundAccount(
                account_type: "bank_account",
                bank_account: BankAccount(name: destination.name, ifsc: destination.ifsc, account_number: destination.accountNumber),
                contact: Contact(name: destination.name, type: "vendor", reference_id: destination.contactReference)),
            queue_if_low_balance: true, reference_id: referenceID, narration: narration, notes: notes)
        return try await call("create payout", "POST", "/v1/payouts", body: body, headers: [("X-Payout-Idempotency", idempotencyKey)])
    }

    /// `GET /v1/payouts/:id`.
    public func fetchPayout(_ id: String) async throws -> RazorpayPayout {
        try await call("fetch payout", "GET", "/v1/payouts/\(try pathComponent(id))")
    }

    // MARK: Mechanics

    private struct NoBody: Encodable {}

    private func call<Result: Decodable>(
        _ operation: String, _ method: String, _ path: String, headers: [(name: String, value: String)] = []
    ) async throws -> Result {
        try await call(operation, method, path, body: NoBody?.none, headers: headers)
    }

    private func call<Body: Encodable, Result: Decodable>(
        _ operation: String, _ method: String, _ path: String, body: Body?, headers: [(name: String, value: String)] = []
    ) async throws -> Result {
        var request = HTTPClientRequest(
            method: method, url: configuration.baseURL + path, headers: headers, timeout: configuration.timeout,
            basicAuth: (configuration.keyID, configuration.keySecret))
        if let body {
            request.body = Array(try JSONEncoder().encode(body))
            request.headers.append(("Content-Type", "application/json"))
        }
        var backoff = Duration.milliseconds(200)
        for attempt in 1...configuration.attempts {
            let response: HTTPClientResponse
            do {
                response = try await http.send(request)
            } catch let error as CurlError {
                logger.warning("razorpay call failed", metadata: ["operation": "\(operation)", "attempt": "\(attempt)", "error": "\(error)"])
                if attempt < configuration.attempts {
                    try await Task.sleep(for: backoff)
                    backoff *= 2
                }
                continue
            }
            switch response.status {
            case 200..<300:
                do { return try JSONDecoder().decode(Result.self, from: Data(response.body)) } catch {
                    throw RazorpayError(.invalidResponse, operation: operation)
                }
            case 409, 500...:
                logger.warning(
                    "razorpay answered with a server error", metadata: ["operation": "\(operation)", "attempt": "\(attempt)", "status": "\(response.status)"])
                if attempt < configuration.attempts {
                    try await Task.sleep(for: backoff)
                    backoff *= 2
                }
            default:
                let detail = try? JSONDecoder().decode(RazorpayErrorBody.self, from: Data(response.body)).error
                throw RazorpayError(
                    .rejected(status: response.status, code: detail?.code ?? "UNKNOWN", message: detail?.description ?? "request refused"),
                    operation: operation)
            }
        }
        throw RazorpayError(.unavailable, operation: operation)
    }

    /// Ids go into the URL path: only Razorpay's id alphabet is accepted.
    private func pathComponent(_ id: String) throws -> String {
        guard !id.isEmpty, id.count <= 64, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw RazorpayError(.rejected(status: 400, code: "BAD_REQUEST_ERROR", message: "malformed id"), operation: "validate id")
        }
        return id
    }
}
