import Foundation
import HTTPTypes
import Hummingbird

/// The client's address for rate limits. Behind a reverse proxy every request arrives from the proxy, so the
/// proxies named in `TRUSTED_PROXIES` are believed about who they forward for: `X-Forwarded-For` is read from the
/// right (each proxy appends the address it saw), trusted hops are skipped, and the first other address is the
/// client. A request from anyone else keeps its TCP peer: a client cannot choose its own address by sending
/// the header.
struct ClientAddress: Sendable {
    /// Addresses of the proxies in front of the server (exact text, e.g. `10.0.0.5`, `::1`).
    let trustedProxies: Set<String>

    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    func resolve(peer: String, forwardedFor header: String?) -> String {
        guard trustedProxies.contains(peer), let header else { return peer }
        let hops = header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() where !hop.isEmpty && !trustedProxies.contains(hop) {
            return String(hop.prefix(64))
        }
        return peer
    }

    func of(_ request: Request, _ context: AppRequestContext) -> String {
        resolve(peer: context.clientIP, forwardedFor: request.headers[values: Self.forwardedFor].joined(separator: ","))
    }
}
