import Foundation
import HappeningCommandLine
import HappeningHTTP
import HappeningLoad
import HappeningSystem
import PrometheusRemoteWrite

/// Fails fast (exit 2) when a target does not answer at all.
enum Reachability {
    static func check(_ target: String, tls: TLSVerification = .system, http2PriorKnowledge: Bool = false) async throws {
        var request = HTTPClientRequest(url: target + "/api/health", timeout: .seconds(5), tls: tls)
        request.http2PriorKnowledge = http2PriorKnowledge
        do {
            _ = try await CurlHTTPClient.withClient { [request] in try await $0.send(request) }
        } catch {
            throw UsageError("cannot reach the target \(target) (\(error)); is the server running?")
        }
    }
}
