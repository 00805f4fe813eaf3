import HappeningConfig

/// Where the Razorpay client sends requests and with which credentials.
///
/// | setting | environment | default |
/// |---|---|---|
/// | `baseURL` | `RAZORPAY_BASE_URL` | `https://api.razorpay.com` when keys are set; else the offline gateway, `http://127.0.0.1:30790` |
/// | `keyID`, `keySecret` | `RAZORPAY_KEY_ID`, `RAZORPAY_KEY_SECRET` | the offline gateway's development pair |
/// | `webhookSecret` | `RAZORPAY_WEBHOOK_SECRET` | the offline gateway's development secret |
/// | `timeout` | `RAZORPAY_TIMEOUT_MS` | 5 s per attempt |
/// | `attempts` | `RAZORPAY_ATTEMPTS` | 3 (retries only after a 5xx, a timeout or no connection) |
///
/// The secrets are never logged; `description` shows only the base URL and whether payments are simulated.
public struct RazorpayConfiguration: Sendable, CustomStringConvertible {
    /// The development credentials the offline gateway accepts (never valid at Razorpay).
    public static let offlineKeyID = "rzp_test_offline"
    public static let offlineKeySecret = "offline-key-secret-not-for-production"
    public static let offlineWebhookSecret = "offline-webhook-secret-not-for-production"
    public static let offlineBaseURL = "http://127.0.0.1:30790"

    public var baseURL: String
    public var keyID: String
    public var keySecret: String
    public var webhookSecret: String
    public var timeout: Duration
    public var attempts: Int
    /// True when no keys were configured and the offline gateway stands in for Razorpay.
    public var isSimulated: Bool

    public init(
        baseURL: String, keyID: String, keySecret: String, webhookSecret: String,
        timeout: Duration = .seconds(5), attempts: Int = 3, isSimulated: Bool = false
    ) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.keyID = keyID
        self.keySecret = keySecret
        self.webhookSecret = webhookSecret
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.isSimulated = isSimulated
    }

    /// Reads the table above. Key id and secret come together or not at all.
    public init(_ settings: Settings) throws {
        let timeout = Duration.milliseconds(try settings.integer("RAZORPAY_TIMEOUT_MS", default: 5_000, range: 100...120_000))
        let attempts = try settings.integer("RAZORPAY_ATTEMPTS", default: 3, range: 1...10)
        switch (settings.optional("RAZORPAY_KEY_ID"), settings.optional("RAZORPAY_KEY_SECRET")) {
        case (let id?, let secret?):
            guard let webhook = settings.optional("RAZORPAY_WEBHOOK_SECRET") else {
                throw Settings.Invalid(name: "RAZORPAY_WEBHOOK_SECRET", problem: "is required when RAZORPAY_KEY_ID is set")
            }
            self.init(
                baseURL: settings.string("RAZORPAY_BASE_URL", default: "https://api.razorpay.com"), keyID: id, keySecret: secret,
                webhookSecret: webhook, timeout: timeout, attempts: attempts)
        case (nil, nil):
            self.init(
                baseURL: settings.string("RAZORPAY_BASE_URL", default: Self.offlineBaseURL), keyID: Self.offlineKeyID,
                keySecret: Self.offlineKeySecret,
                webhookSecret: settings.string("RAZORPAY_WEBHOOK_SECRET", default: Self.offlineWebhookSecret),
                timeout: timeout, attempts: attempts, isSimulated: true)
        case (nil, _?): throw Settings.Invalid(name: "RAZORPAY_KEY_ID", problem: "must be set together with RAZORPAY_KEY_SECRET")
        case (_?, nil): throw Settings.Invalid(name: "RAZORPAY_KEY_SECRET", problem: "must be set together with RAZORPAY_KEY_ID")
        }
    }

    public var description: String { "Razorpay(\(baseURL)\(isSimulated ? ", simulated" : ""))" }
}
