/// A user's role (`user_role` in init.sql).
public enum UserRole: String, Codable, Sendable, CaseIterable {
    case user
    case admin
}

/// Where a user's host application stands (`host_status` in init.sql).
public enum HostStatus: String, Codable, Sendable, CaseIterable {
    case notRequested = "not_requested"
    case pending
    case approved
    case rejected
}

/// An event's review by an admin (`approval_status` in init.sql): only approved events are public.
public enum ApprovalStatus: String, Codable, Sendable, CaseIterable {
    case pending
    case approved
    case rejected
}

/// A booking's state (`booking_status` in init.sql): pending and confirmed bookings hold tickets.
public enum BookingStatus: String, Codable, Sendable, CaseIterable {
    case pending
    case confirmed
    case cancelled
    case failed

    /// Whether a booking in this state holds its tickets.
    public var holdsTickets: Bool { self == .pending || self == .confirmed }
}

/// An admin's decision on an event or a host application (`{"action": "approve" | "reject"}`).
public enum ReviewAction: String, Codable, Sendable, CaseIterable {
    case approve
    case reject

    /// The event's approval status after this decision.
    public var approvalStatus: ApprovalStatus { self == .approve ? .approved : .rejected }
    /// The applicant's host status after this decision.
    public var hostStatus: HostStatus { self == .approve ? .approved : .rejected }
}

/// Where a host's payout stands (`payout_status` in init.sql).
public enum PayoutStatus: String, Codable, Sendable, CaseIterable {
    case pending
    case processing
    case processed
    case failed
    case reversed

    /// RazorpayX's payout state, in ours: `processed` and `reversed` as they are, refusals and cancellations
    /// `failed`, anything else still `processing`.
    public init(gatewayState: String) {
        switch gatewayState {
        case "processed": self = .processed
        case "reversed": self = .reversed
        case "failed", "rejected", "cancelled": self = .failed
        default: self = .processing
        }
    }
}

/// Where a payment's refund stands (`refund_state` in init.sql).
public enum RefundState: String, Codable, Sendable, CaseIterable {
    case pending
    case processed
    case failed

    /// Razorpay's refund state, in ours: `processed` and `failed` as they are, anything else `pending`.
    public init(gatewayState: String) {
        switch gatewayState {
        case "processed": self = .processed
        case "failed": self = .failed
        default: self = .pending
        }
    }
}
