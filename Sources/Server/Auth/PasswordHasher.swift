import HummingbirdBcrypt
import NIOPosix
import ServiceLifecycle

/// bcrypt hashing and verification on threads of its own: a hash costs tens of milliseconds of CPU and
/// must not stall the event loops or the cooperative pool. A lifecycle service that stops its threads on
/// shutdown.
final class PasswordHasher: Service, Sendable {
    private let cost: UInt8
    private let threads: NIOThreadPool
    /// Checked when an email is unknown, so a failed login costs the same time either way.
    private let decoy: String

    init(cost: Int, threads: Int = 2) {
        self.cost = UInt8(clamping: cost)
        self.decoy = Bcrypt.hash("decoy password that never matches", cost: UInt8(clamping: cost))
        self.threads = NIOThreadPool(numberOfThreads: threads)
        self.threads.start()
    }

    func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await threads.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Checks a password; with `hash` nil (unknown account) it checks a decoy and returns false.
    func verify(_ password: String, hash: String?) async throws -> Bool {
        let target = hash ?? decoy
        let matches = try await threads.runIfActive { Bcrypt.verify(password, hash: target) }
        return hash != nil && matches
    }

    func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Stops the hashing threads.
    func shutdown() async {
        try? await threads.shutdownGracefully()
    }
}
