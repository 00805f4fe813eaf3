import Foundation
import HappeningHTTP

/// Sends series to a Prometheus remote write 1.0 endpoint: `http://HOST:PORT/api/v1/write` of a Prometheus started
/// with `--web.enable-remote-write-receiver`, or any other receiver of the protocol (Mimir, VictoriaMetrics …).
///
/// ```swift
/// let client = try RemoteWriteClient(url: "http://127.0.0.1:9090/api/v1/write")
/// try await CurlHTTPClient.withClient { http in try await client.write(series, using: http) }
/// ```
///
/// As the protocol says: a 2xx answer is success; a 5xx or 429 answer, or no answer at all, is retried (up to
/// `attempts` times in all, default 3, waiting 250 ms, then 500 ms …); any other 4xx is the receiver refusing the
/// data (out-of-order samples, say) and is not retried. Errors name the endpoint without its credentials.
public struct RemoteWriteClient: Sendable {
    public let url: String
    public var tls: TLSVerification
    public var attempts: Int
    public var timeout: Duration

    /// Throws ``RemoteWriteError/invalidURL(_:)`` unless `url` is an http or https URL.
    public init(url: String, tls: TLSVerification = .system, attempts: Int = 3, timeout: Duration = .seconds(10)) throws {
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
            throw RemoteWriteError.invalidURL(Self.redacted(url))
        }
        self.url = url
        self.tls = tls
        self.attempts = max(1, attempts)
        self.timeout = timeout
    }

    /// The endpoint as logs and reports may show it: any `user:password@` removed.
    public var displayURL: String { Self.redacted(url) }

    /// Writes `series` in one request (retrying as the type's documentation says).
    public func write(_ series: [RemoteWriteSeries], using http: CurlHTTPClient) async throws {
        let request = HTTPClientRequest(
            method: "POST", url: url,
            headers: [
                ("Content-Type", "application/x-protobuf"), ("Content-Encoding", "snappy"),
                ("X-Prometheus-Remote-Write-Version", "0.1.0"), ("User-Agent", "happening-bench"),
            ],
            body: try RemoteWriteBody.encode(series), timeout: timeout, tls: tls)
        var lastFailure = RemoteWriteError.unreachable(endpoint: displayURL, reason: "no attempt made")
        for attempt in 0..<attempts {
            if attempt > 0 { try await Task.sleep(for: .milliseconds(250 << (attempt - 1))) }
            do {
                let response = try await http.send(request)
                if (200..<300).contains(response.status) { return }
                let failure = RemoteWriteError.rejected(
                    endpoint: displayURL, status: response.status, message: String(response.text.prefix(300)).trimmingCharacters(in: .whitespacesAndNewlines))
                guard response.status >= 500 || response.status == 429 else { throw failure }
                lastFailure = failure
            } catch let error as CurlError {
                lastFailure = .unreachable(endpoint: displayURL, reason: "\(error)")
            }
        }
        throw lastFailure
    }

    static func redacted(_ url: String) -> String {
        guard var parts = URLComponents(string: url), parts.user != nil || parts.password != nil else { return url }
        parts.user = nil
        parts.password = nil
        return parts.string ?? "(a URL with credentials)"
    }
}

/// Why a remote write did not land.
public enum RemoteWriteError: Error, CustomStringConvertible, Equatable {
    /// Not an http or https URL (shown without credentials).
    case invalidURL(String)
    /// The receiver answered with a status other than 2xx (its message, shortened).
    case rejected(endpoint: String, status: Int, message: String)
    /// No answer (refused, timed out …), after every attempt.
    case unreachable(endpoint: String, reason: String)

    public var description: String {
        switch self {
        case .invalidURL(let url): "not an http(s) URL: \(url)"
        case .rejected(let endpoint, let status, let message): "\(endpoint) answered \(status)\(message.isEmpty ? "" : ": \(message)")"
        case .unreachable(let endpoint, let reason): "\(endpoint) did not answer (\(reason))"
        }
    }
}
