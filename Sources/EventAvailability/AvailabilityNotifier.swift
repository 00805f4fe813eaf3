import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Tells the read caches that events' tickets left changed, after the commit that changed them: reads the
/// committed values and publishes them to Redis (``AvailabilityStore/publish(_:)``), in one query and one
/// round trip. Nothing else is invalidated: lists and event entries stay cached, and servers merge the
/// published values into them as they answer.
///
/// Never fails the caller. When Redis or PostgreSQL fails, the events stay pending and ``run()`` (a
/// lifecycle service) publishes them again every `retryInterval` until it works, so a short outage does not
/// leave a value stale for its whole TTL; on graceful shutdown it makes one last attempt.
public final class AvailabilityNotifier: Service, Sendable {
    let store: AvailabilityStore?
    let retryInterval: Duration
    private let pending = Mutex(Pending())
    /// What waits for the next retry: events to publish and admission claims to release.
    private struct Pending {
        var events = Set<UUID>()
        var claims = Set<AdmissionClaim>()
    }
    private let failing = Atomic<Bool>(false)

    /// - Parameters:
    ///   - store: where values are published; nil publishes nothing (no Redis configured).
    ///   - retryInterval: how often pending events are tried again (250 ms).
    public init(store: AvailabilityStore?, retryInterval: Duration = .milliseconds(250)) {
        self.store = store
        self.retryInterval = retryInterval
    }

    /// A notifier that publishes nothing (a process without Redis, tests of the decisions alone).
    public static var disabled: AvailabilityNotifier { AvailabilityNotifier(store: nil) }

    /// Events whose last publish failed and waits for ``run()``.
    public var pendingCount: Int { pending.withLock { $0.events.count } }

    /// Publishes the events' committed tickets left and releases the decided bookings' admission claims (one
    /// script); on failure both are kept for ``run()``, so a lost release cannot keep a gate shut past a retry.
    public func eventsChanged(_ events: Set<UUID>, releasing claims: [AdmissionClaim] = [], logger: Logger) async {
        guard let store, !events.isEmpty || !claims.isEmpty else { return }
        do {
            try await store.publish(events, releasing: claims)
            if failing.exchange(false, ordering: .relaxed) { logger.info("availability publishing works again") }
        } catch {
            pending.withLock {
                $0.events.formUnion(events)
                $0.claims.formUnion(claims)
            }
            // Once per outage; the retries are quiet.
            if !failing.exchange(true, ordering: .relaxed) {
                logger.warning("could not publish tickets left; retrying until it works", metadata: ["error": "\(error)", "events": "\(events.count)"])
            }
        }
    }

    /// Retries pending events until graceful shutdown, then tries them once more.
    public func run() async throws {
        guard store != nil else { return }
        let logger = Logger(label: "happening.availability")
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.retryInterval)
                await self.retryPending(logger: logger)
            }
        }
        await retryPending(logger: logger)
    }

    private func retryPending(logger: Logger) async {
        let waiting = pending.withLock { state -> Pending in
            defer { state = Pending() }
            return state
        }
        await eventsChanged(waiting.events, releasing: Array(waiting.claims), logger: logger)
    }
}
