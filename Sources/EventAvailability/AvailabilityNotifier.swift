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
    private let pending = Mutex(Set<UUID>())
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
    public var pendingCount: Int { pending.withLock { $0.count } }

    /// Publishes the events' committed tickets left; on failure they are kept for ``run()``.
    public func eventsChanged(_ events: Set<UUID>, logger: Logger) async {
        guard let store, !events.isEmpty else { return }
        do {
            try await store.publish(events)
            if failing.exchange(false, ordering: .relaxed) { logger.info("availability publishing works again") }
        } catch {
            pending.withLock { $0.formUnion(events) }
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
        let events = pending.withLock { state -> Set<UUID> in
            defer { state.removeAll() }
            return state
        }
        if !events.isEmpty { await eventsChanged(events, logger: logger) }
    }
}
