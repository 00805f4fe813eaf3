import Foundation
import HappeningCurl
import Logging
import Razorpay
import Synchronization

/// Delivers Razorpay-shaped webhooks (`payment.captured`, `payment.failed`, `refund.processed`, `refund.failed`,
/// `payout.processed`, `payout.failed`) to the configured URL, signed with the webhook secret
/// (`X-Razorpay-Signature`) and carrying `X-Razorpay-Event-Id`. A delivery that fails is retried a few times,
/// as Razorpay does; every attempt is kept for `GET /_sim/webhooks`.
final class WebhookSender: Sendable {
    /// One delivered (or failed) webhook.
    struct Delivery: Codable, Sendable {
        var event_id: String
        var event: String
        var status: Int?
        var attempts: Int
    }

    private let url: String?
    private let secret: String
    private let http = CurlHTTPClient(maxConcurrentRequests: 4)
    private let log = Mutex([Delivery]())
    private let logger: Logger

    init(url: String?, secret: String, logger: Logger) {
        self.url = url
        self.secret = secret
        self.logger = logger
    }

    var deliveries: [Delivery] { log.withLock { $0 } }

    /// Sends `event` with `payload` (entity name → entity) in the background.
    func emit(_ event: String, payload: [String: any Encodable & Sendable]) {
        guard let url else { return }
        let eventID = "evt_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(14)
        let body = Self.body(event: event, payload: payload)
        let signature = RazorpaySignature.sign(body, secret: secret)
        Task {
            var delivery = Delivery(event_id: String(eventID), event: event, status: nil, attempts: 0)
            for attempt in 1...3 {
                delivery.attempts = attempt
                let request = HTTPClientRequest(
                    method: "POST", url: url,
                    headers: [("Content-Type", "application/json"), ("X-Razorpay-Signature", signature), ("X-Razorpay-Event-Id", String(eventID))],
                    body: Array(body), timeout: .seconds(5))
                delivery.status = try? await http.send(request).status
                if let status = delivery.status, (200..<300).contains(status) { break }
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            }
            logger.debug("webhook delivered", metadata: ["event": "\(event)", "status": "\(delivery.status.map(String.init) ?? "none")"])
            log.withLock { [delivery] in $0.append(delivery) }
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

    func shutdown() async { await http.shutdown() }
}
