import Foundation
import HappeningConfig
import HappeningHTTP
import Logging
import Razorpay
import ServiceLifecycle
import Synchronization

/// How the gateway retries a webhook the receiver did not take, as Razorpay does: a delivery fails when no 2xx
/// answer comes within ``timeout``, and is tried again with exponential backoff (``firstRetry``, doubling, at
/// most ``maxInterval`` apart) until ``retryFor`` after the event was created (Razorpay: 24 hours).
struct WebhookRetryPolicy: Sendable, Equatable {
    /// How long one attempt waits for the receiver's answer.
    var timeout: Duration = .seconds(5)
    /// The pause before the first retry.
    var firstRetry: Duration = .seconds(1)
    /// The longest pause between two attempts.
    var maxInterval: Duration = .seconds(60)
    /// How long after the event was created the gateway keeps trying.
    var retryFor: Duration = .seconds(86_400)

    /// The pause after attempt `attempt` (1-based) failed: `firstRetry × 2^(attempt-1)`, at most `maxInterval`.
    func pause(afterAttempt attempt: Int) -> Duration {
        let doublings = min(max(attempt - 1, 0), 40)
        var pause = firstRetry
        for _ in 0..<doublings where pause < maxInterval { pause *= 2 }
        return min(pause, maxInterval)
    }

    /// Reads `GATEWAY_WEBHOOK_TIMEOUT_MS`, `GATEWAY_WEBHOOK_RETRY_MS`, `GATEWAY_WEBHOOK_RETRY_MAX_MS` and
    /// `GATEWAY_WEBHOOK_RETRY_FOR_S`; each defaults to the value above.
    init(settings: Settings) throws {
        timeout = .milliseconds(try settings.integer("GATEWAY_WEBHOOK_TIMEOUT_MS", default: 5_000, range: 1...600_000))
        firstRetry = .milliseconds(try settings.integer("GATEWAY_WEBHOOK_RETRY_MS", default: 1_000, range: 1...3_600_000))
        maxInterval = .milliseconds(try settings.integer("GATEWAY_WEBHOOK_RETRY_MAX_MS", default: 60_000, range: 1...86_400_000))
        retryFor = .seconds(try settings.integer("GATEWAY_WEBHOOK_RETRY_FOR_S", default: 86_400, range: 0...604_800))
    }

    init() {}
}

/// Delivers Razorpay-shaped webhooks (`payment.captured`, `payment.failed`, `refund.processed`, `refund.failed`,
/// `payout.processed`, `payout.failed`) to the configured URL, signed with the webhook secret
/// (`X-Razorpay-Signature`) and carrying `X-Razorpay-Event-Id`. A delivery that fails is retried under the
/// ``WebhookRetryPolicy``; every event's state so far is kept for `GET /_sim/webhooks`.
final class WebhookSender: Service, Sendable {
    /// Where one event's delivery stands.
    enum State: String, Codable, Sendable {
        /// Not yet taken: an attempt is under way or a retry is scheduled.
        case retrying
        /// The receiver answered 2xx.
        case delivered
        /// The retry window closed without a 2xx.
        case abandoned
    }

    /// One event's delivery: its last answer (nil: none within the timeout) and how many attempts so far.
    struct Delivery: Codable, Sendable {
        var event_id: String
        var event: String
        var status: Int?
        var attempts: Int
        var state: State
    }

    private let url: String?
    private let secret: String
    private let policy: WebhookRetryPolicy
    private let http = CurlHTTPClient(maxConcurrentRequests: 4)
    private let log = Mutex([Delivery]())
    /// Deliveries under way, for shutdown; `finished` holds the ids whose task ended before it was filed.
    private let pending = Mutex((tasks: [String: Task<Void, Never>](), finished: Set<String>()))
    private let logger: Logger

    init(url: String?, secret: String, policy: WebhookRetryPolicy = WebhookRetryPolicy(), logger: Logger) {
        self.url = url
        self.secret = secret
        self.policy = policy
        self.logger = logger
    }

    /// Every event sent so far, in the order they were created.
    var deliveries: [Delivery] { log.withLock { $0 } }

    /// Sends `event` with `payload` (entity name → entity) in the background, retrying until it is taken or the
    /// retry window closes.
    func emit(_ event: String, payload: [String: any Encodable & Sendable]) {
        guard let url else { return }
        let eventID = "evt_" + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(14))
        let body = Array(Self.body(event: event, payload: payload))
        let signature = RazorpaySignature.sign(Data(body), secret: secret)
        let index = log.withLock { log in
            log.append(Delivery(event_id: eventID, event: event, status: nil, attempts: 0, state: .retrying))
            return log.count - 1
        }
        let request = HTTPClientRequest(
            method: "POST", url: url,
            headers: [("Content-Type", "application/json"), ("X-Razorpay-Signature", signature), ("X-Razorpay-Event-Id", eventID)],
            body: body, timeout: policy.timeout)
        let task = Task { [self] in
            await deliver(request, index: index)
            pending.withLock { if $0.tasks.removeValue(forKey: eventID) == nil { $0.finished.insert(eventID) } }
        }
        pending.withLock { if $0.finished.remove(eventID) == nil { $0.tasks[eventID] = task } }
    }

    /// Attempts until a 2xx, the end of the retry window, or shutdown.
    private func deliver(_ request: HTTPClientRequest, index: Int) async {
        let closes = ContinuousClock.now + policy.retryFor
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            let status = try? await http.send(request).status
            let taken = status.map { (200..<300).contains($0) } ?? false
            let pause = policy.pause(afterAttempt: attempt)
            let state: State = taken ? .delivered : (ContinuousClock.now + pause > closes ? .abandoned : .retrying)
            let delivery = log.withLock { log in
                log[index].attempts = attempt
                log[index].status = status
                log[index].state = state
                return log[index]
            }
            logger.debug(
                "webhook attempt",
                metadata: [
                    "event": "\(delivery.event)", "attempt": "\(attempt)", "status": "\(status.map(String.init) ?? "none")", "state": "\(state.rawValue)",
                ])
            guard state == .retrying else { return }
            try? await Task.sleep(for: pause)
        }
    }

    /// `{"entity":"event","event":…,"contains":[…],"payload":{"payment":{"entity":{…}}},"created_at":…}`.
    static func body(event: String, payload: [String: any Encodable & Sendable]) -> Data {
        var entities: [String: Any] = [:]
        for (name, entity) in payload {
            let data = (try? JSONEncoder().encode(entity)) ?? Data("{}".utf8)
            entities[name] = ["entity": (try? JSONSerialization.jsonObject(with: data)) ?? [:]]
        }
        let envelope: [String: Any] = [
            "entity": "event", "account_id": "acc_offline", "event": event, "contains": Array(payload.keys).sorted(),
            "payload": entities, "created_at": Int(Date().timeIntervalSince1970),
        ]
        return (try? JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys])) ?? Data()
    }

    /// Waits for the service group's graceful shutdown, then stops scheduled retries and the HTTP client.
    func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Stops scheduled retries, then the HTTP client.
    func shutdown() async {
        let tasks = pending.withLock { pending in
            defer { pending.tasks.removeAll() }
            return Array(pending.tasks.values)
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        await http.shutdown()
    }
}
