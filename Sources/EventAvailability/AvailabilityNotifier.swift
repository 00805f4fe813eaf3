import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Tells the read caches that events' tickets left changed, after the commit that changed them: publishes the
/// committed values to Redis (``AvailabilityStore/store(_:releasing:)``) in one round trip — the values the changing
/// statements returned (``TicketsLeft``), or for events named to be read again, their current rows. Nothing else is
/// invalidated: lists and event entries stay cached, and servers merge the published values into them as they answer.
///
/// Never fails the caller. When Redis or PostgreSQL fails, the values stay pending and ``run()`` (a
/// lifecycle service) publishes them again every `retryInterval` until it works, so a short outage does not
/// leave a value stale for its whole TTL (a retried value older than Redis's is kept out by its version); on
/// graceful shutdown it makes one last attempt.
public final class AvailabilityNotifier: Service, Sendable {
    let store: AvailabilityStore?
    let retryInterval: Duration
    private let pending = Mutex(Pending())
    /// What waits for the next retry: values to publish, events to read again, admission claims to release.
    private struct Pending {
        var values = TicketsLeftChanges()
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
    public var pendingCount: Int { pending.withLock { $0.values.values.count + $0.values.reread.count } }

    /// Publishes committed values (and the current rows of `reread`) and releases the decided bookings' admission claims
    /// (one script); on failure all are kept for ``run()``, so a lost release cannot keep a gate shut past a retry.
    public func publish(
        _ values: [UUID: Availability], rereading reread: Set<UUID> = [], releasing claims: [AdmissionClaim] = [], logger: Logger
    ) async {
        guard let store, !values.isEmpty || !reread.isEmpty || !claims.isEmpty else { return }
        do {
            var current = reread.isEmpty ? [:] : try await store.load(reread)
            current.merge(values) { loaded, committed in loaded.version >= committed.version ? loaded : committed }
            try await store.store(current, releasing: claims)
            if failing.exchange(false, ordering: .relaxed) { logger.info("availability publishing works again") }
        } catch {
            pending.withLock {
                for (event, value) in values { $0.values.record(event, value) }
                $0.values.reread.formUnion(reread)
                $0.claims.formUnion(claims)
            }
            // Once per outage; the retries are quiet.
            if !failing.exchange(true, ordering: .relaxed) {
                logger.warning(
                    "could not publish tickets left; retrying until it works",
                    metadata: ["error": "\(error)", "events": "\(values.count + reread.count)"])
            }
        }
    }

    /// Reads the events' current rows and publishes them (a change made outside a ``TicketsLeft`` transaction:
    /// a value nobody published, a redelivery).
    public func eventsChanged(_ events: Set<UUID>, logger: Logger) async {
        await publish([:], rereading: events, logger: logger)
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
        await publish(waiting.values.values, rereading: waiting.values.reread, releasing: Array(waiting.claims), logger: logger)
    }
}
