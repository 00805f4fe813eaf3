import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The test support's answer to a loaded run's "Address already in use": a child whose port another process took
/// after ``TestPorts`` found it free says who holds it, and ``ChildProcess/startServing`` starts it on another port.
@Suite("Test support: children on taken ports", .timeLimit(.minutes(10)))
struct ChildPortTests {
    @Test("a gateway started on a port this test holds fails with PortTaken naming the holder; retrying starts it elsewhere")
    func takenPortIsRetried() async throws {
        let held = TestPorts.next()
        let listener = try #require(Listener(port: held), "could not hold 127.0.0.1:\(held)")
        defer { listener.close() }

        await #expect(throws: ChildProcess.PortTaken.self) {
            _ = try await ChildProcess.serve("happening-offline-razorpay", port: held, path: "/_sim/webhooks", environment: ["GATEWAY_PORT": String(held)])
        }
        do {
            _ = try await ChildProcess.serve("happening-offline-razorpay", port: held, path: "/_sim/webhooks", environment: ["GATEWAY_PORT": String(held)])
        } catch let taken as ChildProcess.PortTaken {
            #expect(taken.port == held)
            #expect(taken.holder.contains(":\(held)"), "ss saw: \(taken.holder)")
            // A clean one-line refusal, not a trap with a backtrace.
            #expect(taken.output.contains("happening-offline-razorpay: cannot listen on 127.0.0.1:\(held): Address already in use"), "\(taken.output)")
            #expect(!taken.output.contains("Fatal error"), "\(taken.output)")
        }

        // The first attempt gets the held port, the second a free one.
        var attempts = 0
        let (gateway, port) = try await ChildProcess.retryingTakenPorts {
            attempts += 1
            let port = attempts == 1 ? held : TestPorts.next()
            return (
                try await ChildProcess.serve("happening-offline-razorpay", port: port, path: "/_sim/webhooks", environment: ["GATEWAY_PORT": String(port)]),
                port
            )
        }
        await gateway.terminate()
        #expect(attempts == 2)
        #expect(port != held)
    }
}

/// A listening TCP socket on 127.0.0.1 (no SO_REUSEADDR), holding its port until closed.
private struct Listener {
    let descriptor: Int32

    init?(port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)  // not inherited by the children
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard bound, listen(fd, 16) == 0 else {
            Glibc.close(fd)
            return nil
        }
        descriptor = fd
    }

    func close() { _ = Glibc.close(descriptor) }
}
