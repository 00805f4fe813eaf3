import Synchronization

/// Failures and delays the offline gateway is told to inject (`POST /_sim/faults`), so tests and scenarios can
/// see what the server does when Razorpay is slow or broken.
final class OfflineFaults: Sendable {
    /// One rule: requests whose method and path match answer `status` (or just wait `delayMilliseconds` first),
    /// for the next `times` matches.
    struct Fault: Codable, Sendable {
        var method: String?
        var path_prefix: String
        /// 0 means "answer normally after the delay".
        var status: Int
        var times: Int
        var delay_ms: Int
    }

    private let faults = Mutex([Fault]())

    func add(_ fault: Fault) { faults.withLock { $0.append(fault) } }
    func clear() { faults.withLock { $0.removeAll() } }

    /// The fault that applies to this request, if any (its remaining count goes down by one).
    func take(method: String, path: String) -> Fault? {
        faults.withLock { faults in
            guard
                let index = faults.firstIndex(where: { fault in
                    fault.times > 0 && path.hasPrefix(fault.path_prefix) && (fault.method.map { $0.uppercased() == method } ?? true)
                })
            else { return nil }
            faults[index].times -= 1
            let fault = faults[index]
            if fault.times == 0 { faults.remove(at: index) }
            return fault
        }
    }
}
