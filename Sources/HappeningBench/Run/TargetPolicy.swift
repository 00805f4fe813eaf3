import Foundation
import HappeningCommandLine
import HappeningSystem

/// Load is only ever sent to this machine: a target must resolve to loopback (127.0.0.0/8, ::1) only,
/// unless its host is named explicitly with `--allow-host`.
package enum TargetPolicy {
    package static func check(_ target: String, allowed: [String]) throws {
        guard let components = URLComponents(string: target), let scheme = components.scheme, ["http", "https"].contains(scheme),
            let host = components.host, !host.isEmpty
        else { throw UsageError("target '\(target)' is not an http(s) URL") }
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if allowed.contains(where: { $0.caseInsensitiveCompare(bare) == .orderedSame }) { return }
        let addresses = resolve(bare)
        guard !addresses.isEmpty else { throw UsageError("target host '\(bare)' does not resolve") }
        let outside = addresses.filter { !isLoopback($0) }
        if !outside.isEmpty {
            throw UsageError(
                "refusing to send load to \(bare) (\(outside.joined(separator: ", "))): not loopback; name it with --allow-host \(bare) if you mean it")
        }
    }

    static func isLoopback(_ address: String) -> Bool {
        if address == "::1" { return true }
        if address.hasPrefix("::ffff:") { return isLoopback(String(address.dropFirst(7))) }
        let octets = address.split(separator: ".")
        return octets.count == 4 && octets[0] == "127"
    }

    /// Every address `host` resolves to (numeric strings).
    static func resolve(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(list) }
        var addresses: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(entry.pointee.ai_addr, entry.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                addresses.append(String(cString: buffer))
            }
            cursor = entry.pointee.ai_next
        }
        return Array(Set(addresses)).sorted()
    }
}
