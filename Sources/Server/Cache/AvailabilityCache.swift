import EventAvailability
import Foundation
import Logging
import NIOCore
import Synchronization

/// Events' tickets left as this server answers with them: the in-process copy (``NearCaches/tickets``, kept
/// coherent by Redis's invalidation pushes), else Redis (`event:<id>:available`, one `MGET` for all that are missing),
/// else PostgreSQL — one query per event at a time on this server (concurrent misses wait for it), whose
/// result is published to Redis for everyone.
///
/// Whoever changes tickets left publishes the new value after the commit (``AvailabilityNotifier``), so a
/// copy is as fresh as the push that drops it: well under a second after the change.
final class AvailabilityCache: Sendable {
    private let store: AvailabilityStore
    private let near: NearCache<UUID, Availability>?
    private let inFlight = Mutex([UUID: Task<[UUID: Availability], any Error>]())
    private let loadCount = Mutex(0)
    /// How many database loads ran (tests of the single flight).
    var loads: Int { loadCount.withLock { $0 } }

    init(store: AvailabilityStore, near: NearCache<UUID, Availability>?) {
        self.store = store
        self.near = near
    }

    /// Tickets left for every one of `ids` from this server's copies, or nil when any is not held (synchronous).
    func held(_ ids: [UUID]) -> [UUID: Int]? {
        guard let near else { return nil }
        let held = near.get(ids)
        guard held.count == ids.count || held.count == Set(ids).count else { return nil }
        return held.mapValues(\.available)
    }

    /// Tickets left for each event that exists; throws only when Redis and PostgreSQL both fail.
    func current(_ ids: [UUID], logger: Logger) async throws -> [UUID: Int] {
        var values: [UUID: Int] = [:]
        values.reserveCapacity(ids.count)
        let held = near?.get(ids) ?? [:]
        for (id, value) in held { values[id] = value.available }
        // A page lists an event once; a repeat would only be looked up twice.
        let missing = held.count == ids.count ? [] : Array(Set(ids.filter { held[$0] == nil }))
        guard !missing.isEmpty else { return values }
        // Reserved before the read: a change pushed meanwhile refuses the fill.
        let reservations = missing.map { near?.reserve($0) }
        var redisWorks = true
        do {
            let found = try await store.read(missing)
            for (id, reservation) in zip(missing, reservations) {
                guard let value = found[id] else { continue }
                values[id] = value.available
                if let reservation { near?.fill(reservation, with: value) }
            }
        } catch {
            redisWorks = false
            logger.debug("tickets left not readable from Redis; reading PostgreSQL", metadata: ["error": "\(error)"])
        }
        let unknown = missing.filter { values[$0] == nil }
        guard !unknown.isEmpty else { return values }
        for (id, value) in try await loadOnce(unknown, publish: redisWorks, logger: logger) { values[id] = value.available }
        return values
    }

    /// Loads events from PostgreSQL, joining loads already running for any of them.
    private func loadOnce(_ ids: [UUID], publish: Bool, logger: Logger) async throws -> [UUID: Availability] {
        let store = self.store
        let tasks = inFlight.withLock { running -> [Task<[UUID: Availability], any Error>] in
            var tasks: [Task<[UUID: Availability], any Error>] = []
            var fresh: [UUID] = []
            for id in ids {
                if let task = running[id] { if !tasks.contains(task) { tasks.append(task) } } else { fresh.append(id) }
            }
            if !fresh.isEmpty {
                loadCount.withLock { $0 += 1 }
                let task = Task {
                    let values = try await store.load(fresh)
                    // Everyone's next read finds it in Redis (its write is pushed back here and drops no copy of
                    // ours that is newer: the store keeps the newer version).
                    if publish {
                        do { try await store.store(values) } catch { logger.debug("could not publish tickets left", metadata: ["error": "\(error)"]) }
                    }
                    return values
                }
                for id in fresh { running[id] = task }
                tasks.append(task)
            }
            return tasks
        }
        var values: [UUID: Availability] = [:]
        for task in tasks {
            let result = await task.result
            inFlight.withLock { running in
                for (id, held) in running where held == task { running[id] = nil }
            }
            values.merge(try result.get()) { $1 }
        }
        return values
    }
}
