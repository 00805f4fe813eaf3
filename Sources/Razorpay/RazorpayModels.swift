/// The Razorpay entities the server uses, as Razorpay's API spells them. Amounts are integer paise.

/// An order: what a checkout pays (`POST /v1/orders`).
public struct RazorpayOrder: Codable, Sendable, Equatable {
    public var id: String
    public var entity: String
    /// Paise.
    public var amount: Int64
    public var amount_paid: Int64
    public var amount_due: Int64
    public var currency: String
    public var receipt: String?
    /// `created`, `attempted` or `paid`.
    public var status: String
    public var notes: [String: String]
    public var created_at: Int64

    public init(
        id: String, entity: String, amount: Int64, amount_paid: Int64, amount_due: Int64, currency: String, receipt: String?, status: String,
        notes: [String: String], created_at: Int64
    ) {
        self.id = id
        self.entity = entity
        self.amount = amount
        self.amount_paid = amount_paid
        self.amount_due = amount_due
        self.currency = currency
        self.receipt = receipt
        self.status = status
        self.notes = notes
        self.created_at = created_at
    }
}

/// A payment made against an order.
public struct RazorpayPayment: Codable, Sendable, Equatable {
    public var id: String
    public var entity: String
    public var amount: Int64
    public var currency: String
    /// `created`, `authorized`, `captured`, `refunded` or `failed`.
    public var status: String
    public var order_id: String?
    public var method: String?
    public var captured: Bool
    public var amount_refunded: Int64
    public var refund_status: String?
    public var error_code: String?
    public var error_description: String?
    public var notes: [String: String]
    public var created_at: Int64

    public init(
        id: String, entity: String, amount: Int64, currency: String, status: String, order_id: String?, method: String?, captured: Bool, amount_refunded: Int64,
        refund_status: String?, error_code: String?, error_description: String?, notes: [String: String], created_at: Int64
    ) {
        self.id = id
        self.entity = entity
        self.amount = amount
        self.currency = currency
        self.status = status
        self.order_id = order_id
        self.method = method
        self.captured = captured
        self.amount_refunded = amount_refunded
        self.refund_status = refund_status
        self.error_code = error_code
        self.error_description = error_description
        self.notes = notes
        self.created_at = created_at
    }
}

/// A refund of (part of) a payment.
public struct RazorpayRefund: Codable, Sendable, Equatable {
    public var id: String
    public var entity: String
    public var amount: Int64
    public var currency: String
    public var payment_id: String
    public var receipt: String?
    /// `pending`, `processed` or `failed`.
    public var status: String
    public var speed_processed: String?
    public var notes: [String: String]
    public var created_at: Int64

    public init(
        id: String, entity: String, amount: Int64, currency: String, payment_id: String, receipt: String?, status: String, speed_processed: String?,
        notes: [String: String], created_at: Int64
    ) {
        self.id = id
        self.entity = entity
        self.amount = amount
        self.currency = currency
        self.payment_id = payment_id
        self.receipt = receipt
        self.status = status
        self.speed_processed = speed_processed
        self.notes = notes
        self.created_at = created_at
    }
}

/// A RazorpayX payout to a bank account.
public struct RazorpayPayout: Codable, Sendable, Equatable {
    public var id: String
    public var entity: String
    public var amount: Int64
    public var currency: String
    /// `queued`, `pending`, `processing`, `processed`, `reversed`, `cancelled`, `rejected` or `failed`.
    public var status: String
    public var mode: String
    public var purpose: String
    public var reference_id: String?
    public var narration: String?
    public var failure_reason: String?
    public var utr: String?
    public var notes: [String: String]
    public var created_at: Int64

    public init(
        id: String, entity: String, amount: Int64, currency: String, status: String, mode: String, purpose: String, reference_id: String?, narration: String?,
        failure_reason: String?, utr: String?, notes: [String: String], created_at: Int64
    ) {
        self.id = id
        self.entity = entity
        self.amount = amount
        self.currency = currency
        self.status = status
        self.mode = mode
        self.purpose = purpose
        self.reference_id = reference_id
        self.narration = narration
        self.failure_reason = failure_reason
        self.utr = utr
        self.notes = notes
        self.created_at = created_at
    }
}

/// Where a payout goes (RazorpayX composite payout: contact and bank account inline).
public struct RazorpayPayoutDestination: Codable, Sendable, Equatable {
    public var name: String
    public var ifsc: String
    public var accountNumber: String
    /// Our id for the payee (the host's user id).
    public var contactReference: String

    public init(name: String, ifsc: String, accountNumber: String, contactReference: String) {
        self.name = name
        self.ifsc = ifsc
        self.accountNumber = accountNumber
        self.contactReference = contactReference
    }
}

/// Razorpay's error body: `{"error": {"code", "description", …}}`.
struct RazorpayErrorBody: Codable, Sendable {
    struct Detail: Codable, Sendable {
        var code: String
        var description: String
    }
    var error: Detail
}
