import Foundation
import HappeningSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Opens a ``RawLoop``'s plain-TCP connections itself: the origin's host is resolved once per loop
/// (`getaddrinfo`), then each connection is a non-blocking socket with `TCP_NODELAY`, its `connect` waited on with
/// `poll` up to the connect timeout, trying the host's addresses in the resolver's order.
///
/// Over plain HTTP the raw engine moves its bytes with `send`/`recv` on the socket, so libcurl's easy handle
/// (`CONNECT_ONLY`) only opened the connection, and cost ~10 KiB per open connection (libcurl 7.88's handle, its
/// connection and buffers): a generator process holding 10,000 connections of a fleet's barrier paid 100 MiB for it.
/// TLS stays libcurl's (``RawConnector``), which does the handshake and encrypts.
///
/// Failures carry libcurl's error numbers (6 could not resolve, 7 could not connect, 28 timed out), so completions
/// read the same on both engines. Used on its loop's thread only (the Bench's slow clients open theirs with it too).
public final class TCPConnector {
    /// One address of the origin's host, as `connect` takes it.
    private struct Address {
        var family: Int32
        var bytes: [UInt8]
    }

    private let host: String
    private let port: Int
    private let timeoutMilliseconds: Int32
    private var addresses: [Address]?

    /// `origin`: `http://host[:port]` (80 without one); nil when it names no host.
    public init?(origin: String, connectTimeout: Duration) {
        guard let components = URLComponents(string: origin), var host = components.host, !host.isEmpty else { return nil }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host
        port = components.port ?? 80
        timeoutMilliseconds = Int32(clamping: max(1, connectTimeout.nanoseconds / 1_000_000))
    }

    /// A connected non-blocking socket, or libcurl's error number.
    public func connect() -> Result<Int32, ConnectFailure> {
        guard let addresses = resolved(), !addresses.isEmpty else { return .failure(ConnectFailure(code: 6)) }
        var failure = ConnectFailure(code: 7)
        for address in addresses {
            switch open(address) {
            case .success(let socket): return .success(socket)
            case .failure(let reason): failure = reason
            }
        }
        return .failure(failure)
    }

    /// The host's addresses, looked up on the first connection (a failed lookup is tried again next time).
    private func resolved() -> [Address]? {
        if let addresses { return addresses }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(first) }
        var found: [Address] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            if let address = current.pointee.ai_addr {
                let bytes = [UInt8](UnsafeRawBufferPointer(start: address, count: Int(current.pointee.ai_addrlen)))
                found.append(Address(family: current.pointee.ai_family, bytes: bytes))
            }
            entry = current.pointee.ai_next
        }
        addresses = found
        return found
    }

    /// Connects one socket to `address`, waiting at most the connect timeout.
    private func open(_ address: Address) -> Result<Int32, ConnectFailure> {
        let socket = Glibc.socket(address.family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { return .failure(ConnectFailure(code: 7)) }
        var one: Int32 = 1
        _ = setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let started = address.bytes.withUnsafeBytes { bytes in
            Glibc.connect(socket, bytes.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(bytes.count))
        }
        if started != 0, errno != EINPROGRESS {
            Glibc.close(socket)
            return .failure(ConnectFailure(code: 7))
        }
        if started != 0 {
            var waiting = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
            var ready: Int32
            repeat { ready = poll(&waiting, 1, timeoutMilliseconds) } while ready < 0 && errno == EINTR
            guard ready > 0 else {
                Glibc.close(socket)
                return .failure(ConnectFailure(code: 28))  // CURLE_OPERATION_TIMEDOUT
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 else {
                Glibc.close(socket)
                return .failure(ConnectFailure(code: 7))
            }
        }
        return .success(socket)
    }
}

/// Why a raw connection could not be opened: libcurl's error number (6, 7, 28 …).
public struct ConnectFailure: Error {
    public var code: Int32
}
