import HTTPTypes
import HummingbirdBcrypt
import NIOPosix
import ServiceLifecycle
import Synchronization

/// bcrypt hashing and verification on threads of its own: a hash costs tens of milliseconds of CPU and
/// must not stall the event loops or the cooperative pool. At most `queueLimit` hashes wait or run at once;
/// past that a request is refused at once with 503 (`Retry-After`), so a flood of logins or registrations cannot
/// queue without bound in front of everyone else's. A lifecycle service that stops its threads on shutdown.
final class PasswordHasher: Service, Sendable {
    private let cost: UInt8
    private let threads: NIOThreadPool
    /// Checked when an email is unknown, so a failed login costs the same time either way.
    private let decoy: String
    /// Hashes waiting or running.
    private let queued = Atomic<Int>(0)
    /// `BCRYPT_QUEUE_LIMIT` (default 64).
    let queueLimit: Int

    init(cost: Int, threads: Int = 2, queueLimit: Int = 64) {
        self.cost = UInt8(clamping: cost)
        self.decoy = Bcrypt.hash("decoy password that never matches", cost: UInt8(clamping: cost))
        self.threads = NIOThreadPool(numberOfThreads: threads)
        self.queueLimit = queueLimit
        self.threads.start()
    }

    func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await queuedWork { Bcrypt.hash(password, cost: cost) }
    }

    /// Checks a password; with `hash` nil (unknown account) it checks a decoy and returns false.
    func verify(_ password: String, hash: String?) async throws -> Bool {
        let target = hash ?? decoy
        let matches = try await queuedWork { Bcrypt.verify(password, hash: target) }
        return hash != nil && matches
    }

    /// Hashes waiting or running now.
    var queuedCount: Int { queued.load(ordering: .relaxed) }

    /// Runs `work` on the hashing threads if the queue has room (counted before the check), else 503.
    private func queuedWork<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        let position = queued.wrappingAdd(1, ordering: .relaxed).newValue
        defer { queued.wrappingSubtract(1, ordering: .relaxed) }
        guard position <= queueLimit else {
            throw AppError(
                status: .serviceUnavailable, code: "busy", message: "Too many sign-ins are being checked right now; try again shortly", retryAfter: 1)
        }
        return try await threads.runIfActive(work)
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
