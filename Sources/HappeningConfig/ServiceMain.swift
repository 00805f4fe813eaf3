import Foundation

/// How a service's `main` ends when it cannot run: one line on standard error and exit status 1, never a crash with
/// a backtrace (an error thrown out of `main` traps). A port another process holds is named as such.
public enum ServiceMain {
    /// Runs `body`; if it throws, prints `<program>: …` and exits 1.
    /// - Parameter address: what the service listens on (`127.0.0.1:5000`), for the message when it is taken.
    public static func run(
        _ program: String, listening address: String, isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> Void
    ) async {
        do {
            try await body()
        } catch {
            FileHandle.standardError.write(Data("\(program): \(describe(error, address: address))\n".utf8))
            exit(1)
        }
    }

    /// The message for `error`: NIO's bind failure (`bind(descriptor:ptr:bytes:): Address already in use (errno: 98)`)
    /// becomes a sentence that says which address and what to do.
    static func describe(_ error: any Error, address: String) -> String {
        let text = String(describing: error)
        if text.contains("Address already in use") {
            return "cannot listen on \(address): Address already in use (another process holds the port; stop it or choose another port)"
        }
        return "stopped: \(text)"
    }
}
