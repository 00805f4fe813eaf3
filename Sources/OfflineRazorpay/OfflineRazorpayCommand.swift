import Foundation
import HappeningConfig
import Hummingbird
import Logging
import Razorpay
import ServiceLifecycle

/// `happening-offline-razorpay`: an offline stand-in for Razorpay (orders, payments, refunds, payouts, webhooks) on
/// loopback, for development and tests. Configuration from the environment:
///
/// | variable | default |
/// |---|---|
/// | `GATEWAY_PORT` | 30790 |
/// | `RAZORPAY_KEY_ID`, `RAZORPAY_KEY_SECRET`, `RAZORPAY_WEBHOOK_SECRET` | the offline development values |
/// | `GATEWAY_WEBHOOK_URL` | none (no webhooks sent) |
/// | `GATEWAY_SETTLE_MS` | 200: how long refunds stay `pending` and payouts `processing` |
/// | `GATEWAY_WEBHOOK_TIMEOUT_MS` | 5000: how long one delivery waits for a 2xx |
/// | `GATEWAY_WEBHOOK_RETRY_MS`, `GATEWAY_WEBHOOK_RETRY_MAX_MS` | 1000, 60000: the first pause before a retry (doubling), the longest |
/// | `GATEWAY_WEBHOOK_RETRY_FOR_S` | 86400: how long after an event the gateway keeps retrying (Razorpay: 24 hours) |
@main
struct OfflineRazorpayCommand {
    static func main() async {
        let settings = Settings(ProcessInfo.processInfo.environment)
        let port: Int
        let settle: Int
        let retries: WebhookRetryPolicy
        let level: Logger.Level
        do {
            level = try settings.logLevel()
            port = try settings.integer("GATEWAY_PORT", default: 30_790, range: 1...65_535)
            settle = try settings.integer("GATEWAY_SETTLE_MS", default: 200, range: 0...600_000)
            retries = try WebhookRetryPolicy(settings: settings)
        } catch {
            FileHandle.standardError.write(Data("happening-offline-razorpay: \(error)\n".utf8))
            exit(2)
        }
        var logger = Logger(label: "happening.gateway")
        logger.logLevel = level
        let keyID = settings.string("RAZORPAY_KEY_ID", default: RazorpayConfiguration.offlineKeyID)
        let keySecret = settings.string("RAZORPAY_KEY_SECRET", default: RazorpayConfiguration.offlineKeySecret)
        let webhooks = WebhookSender(
            url: settings.optional("GATEWAY_WEBHOOK_URL"),
            secret: settings.string("RAZORPAY_WEBHOOK_SECRET", default: RazorpayConfiguration.offlineWebhookSecret), policy: retries, logger: logger)
        let (ledger, faults) = (OfflineLedger(), OfflineFaults())

        let router = Router()
        router.add(middleware: GatewayGuardMiddleware(faults: faults, keyID: keyID, keySecret: keySecret))
        RazorpayRoutes(ledger: ledger, webhooks: webhooks, settleDelay: .milliseconds(settle)).add(to: router)
        SimulationRoutes(ledger: ledger, faults: faults, webhooks: webhooks, keySecret: keySecret).add(to: router)
        var app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "happening-offline-razorpay"),
            logger: logger)
        app.addServices(webhooks)  // stopped after the HTTP server: retries still scheduled are cancelled
        logger.info("offline Razorpay gateway: payments are simulated", metadata: ["port": "\(port)"])
        await ServiceMain.run("happening-offline-razorpay", listening: "127.0.0.1:\(port)") { try await app.runService() }
    }
}
