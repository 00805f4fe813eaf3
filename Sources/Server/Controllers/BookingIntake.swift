import Foundation
import HappeningAMQP
import HappeningCore
import HappeningCrypto
import HappeningRedis
import Logging
import Metrics

/// The flash-sale write path: validate cheaply, publish a persistent job with publisher confirms, and
/// only then answer 202. No database write happens here; the worker decides.
struct BookingIntake: Sendable {
    let jobs: AMQPPublisher
    let redis: RedisClient
    let prefix: String

    /// How long an idempotency key and a "queued" marker are remembered.
    static let memory = 86_400

    /// The booking id for (user, idempotency key): derived, so a retry maps to the same id even when
    /// Redis is down (the worker then ignores the duplicate job by its id).
    static func bookingID(user: UUID, key: String?) -> UUID {
        guard let key else { return UUID() }
        var bytes = Array(SHA256.hash("\(user.uuidString.lowercased()):\(key)".utf8).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80  // version 8 (name-based, SHA-256)
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    /// Publishes the job unless this (user, key) already did; returns the booking id. Each step's time goes to
    /// `timings` (idempotency, publish, bookkeeping).
    func submit(event: UUID, user: UUID, tickets: Int, key: String?, timings: StageTimings = StageTimings(), logger: Logger) async throws -> UUID {
        let id = Self.bookingID(user: user, key: key)
        let idempotencyKey = key.map { _ in "\(prefix)idem:\(user.uuidString.lowercased()):\(id.uuidString.lowercased())" }
        if let idempotencyKey, try await timings.measure(.idempotency, { try await alreadySubmitted(idempotencyKey, logger: logger) }) { return id }
        let job = BookingJob(booking_id: id, event_id: event, user_id: user, ticket_count: tickets, idempotency_key: key, requested_at: Date())
        do {
            let message = AMQPMessage(id: id.uuidString.lowercased(), body: try job.encoded())
            try await timings.measure(.publish) { try await jobs.publish(message) }
            Counter(label: "happening_queue_publishes_total", dimensions: [("result", "confirmed")]).increment()
        } catch {
            Counter(label: "happening_queue_publishes_total", dimensions: [("result", "failed")]).increment()
            if let idempotencyKey { _ = try? await redis.delete([idempotencyKey]) }  // let a retry publish
            throw error
        }
        do {
            var commands: [[RedisArgument]] = [["SET", RedisArgument(queuedKey(id)), RedisArgument(user.uuidString.lowercased()), "EX", RedisArgument(Self.memory)]]
            if let idempotencyKey { commands.append(["SET", RedisArgument(idempotencyKey), "queued", "EX", RedisArgument(Self.memory)]) }
            _ = try await timings.measure(.bookkeeping) { try await redis.pipeline(commands) }
        } catch {
            logger.warning("could not record a queued booking in Redis", metadata: ["error": "\(error)"])
        }
        return id
    }

    /// The owner of a booking that is queued and not yet decided, if Redis remembers it.
    func queuedOwner(_ id: UUID) async -> UUID? {
        guard let text = try? await redis.getString(queuedKey(id)) else { return nil }
        return UUID(uuidString: text)
    }

    private func queuedKey(_ id: UUID) -> String { "\(prefix)booking:queued:\(id.uuidString.lowercased())" }

    /// Claims the key (`SET NX`); if another request holds it, waits for that one to finish publishing.
    /// True when the job was already published. Redis trouble → false (publish; the worker dedupes).
    private func alreadySubmitted(_ key: String, logger: Logger) async throws -> Bool {
        for _ in 0..<50 {
            do {
                if try await redis.set(key, value: "publishing", expiresIn: .seconds(30), onlyIfNotExists: true) { return false }
                switch try await redis.getString(key) {
                case "queued": return true
                case nil: continue  // the other attempt failed and let go: try to claim again
                default: try await Task.sleep(for: .milliseconds(100))
                }
            } catch let error as RedisError {
                logger.warning("idempotency store unavailable; relying on the booking id", metadata: ["error": "\(error)"])
                return false
            }
        }
        throw AppError(status: .conflict, code: "request_in_progress", message: "The same request is still being processed", retryAfter: 1)
    }
}
