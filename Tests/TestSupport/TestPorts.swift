import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// TCP ports for the servers and gateways tests start as child processes.
///
/// Random picks from a range collided: two tests of one run drew the same port, the second process failed
/// to bind, and its test talked to the first one's server (a payouts test got another gateway's 401). Every
/// port handed out here is unique within the test process (one counter over the range, starting at a random
/// offset so consecutive runs do not reuse the ports a previous run may still hold in TIME_WAIT) and could
/// be bound on 127.0.0.1 a moment ago. The range lies below Linux's ephemeral ports (32768–60999), so an
/// outgoing connection never holds one.
///
/// The probe's socket is close-on-exec. It was not, and that was the cause of a loaded run's "Address already in use":
/// a test forking a child shell while another test probed handed the probe's bound socket to that child (and through
/// `nohup` to the server it started), which held the port long after the probe closed its copy.
public enum TestPorts {
    /// The ports handed out: 20,000–29,999 (the services listen on 30,379–30,790, see scripts/services.sh).
    public static let range = 20_000...29_999
    private static let cursor = Mutex(Int.random(in: 0..<(range.count)))

    /// A port no other caller in this process got, free on 127.0.0.1 when it was checked.
    public static func next() -> Int {
        for _ in 0..<range.count {
            let port = cursor.withLock { offset -> Int in
                defer { offset = (offset + 1) % range.count }
                return range.lowerBound + offset
            }
            if canBind(port) { return port }
        }
        fatalError("no free TCP port in \(range) on 127.0.0.1")
    }

    /// Whether a listening socket could bind `port` on 127.0.0.1 now (no SO_REUSEADDR: a port in TIME_WAIT counts as taken).
    static func canBind(_ port: Int) -> Bool {
        #if canImport(Glibc)
            // SOCK_CLOEXEC: without it a child forked by another test while this socket is open (every `system()`
            // forks) inherits it, keeps it bound after it is closed here, and the server this port is for cannot bind it.
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
