import Foundation
import HappeningCore
import HappeningRedis
import Logging

/// Tells the read cache that events' availability changed: bumps each event's version, deletes
/// `event:<id>` and bumps the list generation, in one round trip. Best effort: a Redis failure is logged and never fails a booking.
public struct AvailabilityNotifier: Sendable {
    let redis: RedisClient?
    let keys: CacheKeys

    public init(redis: RedisClient?, keys: CacheKeys = CacheKeys()) {
        self.redis = redis
        self.keys = keys
    }

    public func eventsChanged(_ events: Set<UUID>, logger: Logger) async {
        guard let redis, !events.isEmpty else { return }
        do {
            _ = try await redis.pipeline(keys.invalidation(for: events).map { $0.map { RedisArgument($0) } })
        } catch {
            logger.warning("cache invalidation failed; entries expire by TTL", metadata: ["error": "\(error)"])
        }
    }
}
