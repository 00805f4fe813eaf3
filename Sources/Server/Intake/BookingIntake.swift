import EventAvailability
import Foundation
import HTTPTypes
import HappeningAMQP
import HappeningCrypto
import HappeningModel
import HappeningRedis
import Logging
import Metrics

/// The flash-sale write path: validate cheaply, publish a persistent job with publisher confirms, and
/// only then answer 202. No database write happens here; the worker decides.
struct BookingIntake: Sendable {
    let jobs: AMQPPublisher
    let gate: AdmissionGate
    /// Where tickets left are loaded from PostgreSQL (and published) when Redis holds none for an event.
    let availabilityStore: AvailabilityStore
    /// One such load per event at a time on this server: a sale's first burst finds the key missing together.
    private let availabilityLoads = SingleFlight<UUID, Int?>()

    init(jobs: AMQPPublisher, gate: AdmissionGate, availabilityStore: AvailabilityStore) {
        self.jobs = jobs
        self.gate = gate
        self.availabilityStore = availabilityStore
    }

    /// The booking id for (user, idempotency key): derived, so a retry maps to the same id even when
    /// Redis is down (the worker then ignores the duplicate job by its id).
    static func bookingID(user: UUID, key: String?) -> UUID {
        guard let key else { return UUID() }
        var bytes = Array(SHA256.hash("\(user.lowercasedText):\(key)".utf8).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80  // version 8 (name-based, SHA-256)
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }

    /// Admits and publishes a booking; returns its id. One Redis script decides the rate limit, the
    /// idempotency key and the event's admission gate (``AdmissionGate``); then the job is published and
    /// confirmed. Sold out → 422, over the limit → 429. When Redis fails, the gate is skipped and the job is
    /// published (the worker decides; `storedAvailable` — the event body's tickets left — still refuses a
    /// request that cannot fit). Each step's time goes to `timings` (admission, publish, bookkeeping).
    func submit(
        event: UUID, user: UUID, tickets: Int, key: String?, storedAvailable: Int, timings: StageTimings = StageTimings(), logger: Logger
    ) async throws -> UUID {
        let id = Self.bookingID(user: user, key: key)
        let admission = AdmissionGate.Admission(
            event: event, booking: id, user: user, tickets: tickets,
            idempotencyKey: key.map { _ in gate.keys.idempotency(user: user, booking: id) })
        if !gate.enabled, storedAvailable < tickets { throw AppError.soldOut(left: storedAvailable) }
        let gated: Bool
        do {
            gated = try await timings.measure(.admission) { try await admit(admission, logger: logger) }
        } catch let error as RedisError {
            logger.warning("admission gate unavailable; publishing for the worker to decide", metadata: ["error": "\(error)"])
            Counter(label: "happening_admission_bypassed_total").increment()
            if storedAvailable < tickets { throw AppError.soldOut(left: storedAvailable) }
            gated = false
        }
        if !gated, admission.idempotencyKey != nil, try await waitedForOther(admission, logger: logger) { return id }
        let job = BookingJob(booking_id: id, event_id: event, user_id: user, ticket_count: tickets, idempotency_key: key, requested_at: Date())
        do {
            let message = AMQPMessage(id: id.lowercasedText, body: try job.encoded())
            try await timings.measure(.publish) { try await jobs.publish(message) }
            Counter(label: "happening_queue_publishes_total", dimensions: [("result", "confirmed")]).increment()
        } catch {
            Counter(label: "happening_queue_publishes_total", dimensions: [("result", "failed")]).increment()
            // Let a retry be admitted and publish; nothing stays claimed.
            do { try await gate.withdraw(admission) } catch { logger.warning("could not withdraw an admission", metadata: ["error": "\(error)"]) }
            throw Self.publishFailure(error, booking: id)
        }
        if let key = admission.idempotencyKey {
            do {
                try await timings.measure(.bookkeeping) { try await gate.markPublished(idempotencyKey: key) }
            } catch {
                logger.warning("could not record a published idempotency key in Redis", metadata: ["error": "\(error)"])
            }
        }
        return id
    }

    /// What the client is told when the job could not be published. When the broker did not confirm in time the job
    /// may be queued all the same: the answer names the booking, so the client can look before booking again (a retry
    /// with the same Idempotency-Key maps to the same booking, which the worker decides once).
    static func publishFailure(_ error: any Error, booking id: UUID) -> any Error {
        guard let error = error as? AMQPError, error.kind == .confirmTimeout else { return error }
        return AppError(
            status: .serviceUnavailable, code: "queue_unconfirmed",
            message: "The queue did not confirm the booking in time: it may or may not be queued. Check status_url before booking again, "
                + "or retry with the same Idempotency-Key",
            details: ["booking_id": id.lowercasedText, "status_url": "/api/bookings/\(id.lowercasedText)"], retryAfter: 5)
    }

    /// The gate's verdict as the intake acts on it: true when admitted here, false when the same key's booking
    /// is already queued or in progress elsewhere; throws the client's error (sold out, rate limited).
    private func admit(_ admission: AdmissionGate.Admission, logger: Logger) async throws -> Bool {
        var known: Int?
        for _ in 0..<3 {
            switch try await gate.admit(admission, knownAvailable: known) {
            case .admitted: return true
            case .alreadyQueued, .inProgress: return false
            case .soldOut(let left): throw AppError.soldOut(left: left)
            case .rateLimited(let retryAfter): throw AppError.tooManyRequests(retryAfter: retryAfter)
            case .userLimit(let left):
                throw AppError.unprocessable(
                    "One account may hold at most \(gate.perUserLimit) tickets of an event (\(left) more now)", code: "ticket_limit")
            case .availabilityUnknown:
                let loaded = try await loadAvailable(admission.event, logger: logger)
                guard let loaded else { throw AppError.notFound("Event not found", code: "event_not_found") }
                known = loaded
            }
        }
        throw RedisError(kind: .unexpectedReply)
    }

    /// Tickets left from PostgreSQL (published to Redis on the way); nil when the event does not exist.
    private func loadAvailable(_ event: UUID, logger: Logger) async throws -> Int? {
        let store = availabilityStore
        return try await availabilityLoads.value(for: event) {
            guard let value = try await store.load([event])[event] else { return nil }
            do { try await store.store([event: value]) } catch { logger.debug("could not publish tickets left", metadata: ["error": "\(error)"]) }
            return value.available
        }
    }

    /// For a request whose Idempotency-Key another request holds: waits (up to 5 s) until that one has
    /// published (true: answer with the same id) or let go (false: publish). Redis trouble → false (the worker
    /// dedupes by the booking id).
    private func waitedForOther(_ admission: AdmissionGate.Admission, logger: Logger) async throws -> Bool {
        guard let key = admission.idempotencyKey else { return false }
        for _ in 0..<50 {
            do {
                switch try await gate.idempotencyState(key) {
                case "queued": return true
                case nil: if try await admit(admission, logger: logger) { return false }  // the other let go: ours now
                default: try await Task.sleep(for: .milliseconds(100))
                }
            } catch let error as RedisError {
                logger.warning("idempotency store unavailable; relying on the booking id", metadata: ["error": "\(error)"])
                return false
            }
        }
        throw AppError(status: .conflict, code: "request_in_progress", message: "The same request is still being processed", retryAfter: 1)
    }

    /// The owner of a booking that is queued and not yet decided, if Redis remembers it.
    func queuedOwner(_ id: UUID) async -> UUID? { await gate.queuedOwner(id) }
}

extension BookingIntake {
    /// The refusal intake gives without a round trip to Redis: the gate's sold-out memory says `tickets` of `event`
    /// cannot fit (``AdmissionGate/soldOutFromMemory(event:tickets:keyed:)``); nil when the gate must be asked.
    func refusalFromMemory(event: UUID, tickets: Int, key: String?) -> AppError? {
        gate.soldOutFromMemory(event: event, tickets: tickets, keyed: key != nil).map { AppError.soldOut(left: $0) }
    }
}
