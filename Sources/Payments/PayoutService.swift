import Foundation
import HappeningModel
import HappeningPostgres
import HappeningSystem
import Logging
import Razorpay

/// Host payouts: one per event, computed on the server, paid through RazorpayX.
///
/// An event is payable once it ended more than `settlementDelay` ago (`PAYOUT_SETTLEMENT_HOURS`, default 48: time for
/// buyers' disputes and late webhooks), is approved and not cancelled, has confirmed bookings and no live payout
/// (a failed or reversed one may be tried again). The amount is
/// gross (captured payments) − refunds (issued or owed) − the platform fee (`PLATFORM_FEE_PERCENT`, default 10,
/// rounded half up to the paisa). The payout row is written first (status `pending`, unique per event), then the
/// gateway is called with the row id as `X-Payout-Idempotency`; a crash or timeout in between is finished by
/// ``reconcile(minimumAge:)`` with the same key.
public struct PayoutService: Sendable {
    let postgres: PostgresClient
    let gateway: RazorpayClient
    /// The platform fee in basis points (1000 = 10 %).
    public let feeBasisPoints: Int64
    /// How long after an event's date its host may be paid.
    public let settlementDelay: Duration
    private let logger: Logger

    /// The default settlement delay: 48 hours.
    public static let defaultSettlementDelay = Duration.seconds(48 * 3600)

    public init(
        postgres: PostgresClient, gateway: RazorpayClient, feeBasisPoints: Int64 = 1_000, settlementDelay: Duration = defaultSettlementDelay,
        logger: Logger
    ) {
        self.postgres = postgres
        self.gateway = gateway
        self.feeBasisPoints = feeBasisPoints
        self.settlementDelay = settlementDelay
        self.logger = logger
    }

    /// SQL: a payout that is on its way or made (failed and reversed ones are not: the event may be paid again). The
    /// one definition the payout, cancellation and edit rules share.
    public static let livePayout = "status IN ('pending', 'processing', 'processed')"

    /// One event's money, in paise.
    public struct Settlement: Sendable, Equatable, Codable {
        public var event_id: String
        public var event_title: String
        public var host_id: String?
        public var host_name: String?
        public var total_bookings_count: Int
        public var gross: Int64
        public var refunded: Int64
        public var fee: Int64
        public var payout: Int64
    }

    /// The fee on `net` paise, rounded half up.
    public func fee(on net: Int64) -> Int64 { (net * feeBasisPoints + 5_000) / 10_000 }

    private static let moneySQL = """
        SELECT e.id, e.title, e.created_by, u.name,
               count(DISTINCT b.id) FILTER (WHERE b.status = 'confirmed'),
               coalesce(sum(p.amount * 100) FILTER (WHERE p.status = 'captured'), 0)::bigint,
               coalesce(sum(p.refund_amount * 100) FILTER (WHERE p.refund_status IN ('pending', 'processed')), 0)::bigint
        FROM events e LEFT JOIN users u ON u.id = e.created_by
        JOIN bookings b ON b.event_id = e.id LEFT JOIN payments p ON p.booking_id = b.id
        """

    private func settlement(_ row: PostgresRow) throws -> Settlement {
        let gross: Int64 = try row.decode(5)
        let refunded: Int64 = try row.decode(6)
        let fee = fee(on: max(0, gross - refunded))
        return Settlement(
            event_id: try row.decode(0, as: UUID.self).lowercasedText, event_title: try row.decode(1),
            host_id: try row.decode(2, as: UUID?.self)?.lowercasedText, host_name: try row.decode(3, as: String?.self),
            total_bookings_count: Int(try row.decode(4, as: Int64.self)), gross: gross, refunded: refunded, fee: fee,
            payout: max(0, gross - refunded - fee))
    }

    /// Approved, not cancelled events that ended more than the settlement delay ago, with confirmed bookings and no live payout.
    public func payableEvents(limit: Int, offset: Int) async throws -> [Settlement] {
        try await postgres.query(
            """
            \(Self.moneySQL)
            WHERE e.date_time < now() - make_interval(secs => $3) AND e.approval_status = 'approved' AND NOT e.is_cancelled
              AND NOT EXISTS (SELECT 1 FROM payouts po WHERE po.event_id = e.id AND po.\(Self.livePayout))
            GROUP BY e.id, u.name HAVING count(*) FILTER (WHERE b.status = 'confirmed') > 0
            ORDER BY e.date_time, e.id LIMIT $1 OFFSET $2
            """, [limit, offset, settlementDelay.seconds]
        ).map(settlement)
    }

    /// Why a payout was not made.
    public enum Refused: Error, Sendable, Equatable {
        case eventNotFound
        case notPayable(String)
        case hostMismatch
        case hostNotEligible
        case amountMismatch(computed: Int64)
        case alreadyPaid
    }

    /// A payout as recorded.
    public struct Payout: Sendable, Equatable {
        public var id: UUID
        public var status: PayoutStatus
        public var razorpayPayoutID: String?
        public var settlement: Settlement
    }

    /// Creates the event's payout (computed here; `expectedHost` and `expectedAmount`, when a client sends them,
    /// must match) and asks the gateway to pay it.
    public func create(event: UUID, by admin: UUID, notes: String?, expectedHost: UUID?, expectedAmount: Int64?) async throws -> Payout {
        let (payoutID, settlement) = try await postgres.withTransaction { tx -> (UUID, Settlement) in
            // The event's row lock orders this against a cancellation (``CancellationService``): whichever commits first wins.
            guard
                let eventRow = try await tx.query(
                    """
                    SELECT date_time < now(), date_time < now() - make_interval(secs => $2), approval_status::text, created_by, is_cancelled
                    FROM events WHERE id = $1 FOR UPDATE
                    """, [event, settlementDelay.seconds]
                ).first
            else { throw Refused.eventNotFound }
            guard try eventRow.decode(0, as: Bool.self) else { throw Refused.notPayable("the event has not happened yet") }
            guard try eventRow.decode(1, as: Bool.self) else {
                throw Refused.notPayable("hosts are paid \(settlementDelay.components.seconds / 3600) hours after the event (the settlement period)")
            }
            guard try !eventRow.decode(4, as: Bool.self) else { throw Refused.notPayable("the event was cancelled") }
            guard try eventRow.decode(2, as: String.self) == "approved" else { throw Refused.notPayable("the event is not approved") }
            guard let host = try eventRow.decode(3, as: UUID?.self) else { throw Refused.hostNotEligible }
            if let expectedHost, expectedHost != host { throw Refused.hostMismatch }
            guard try await tx.query("SELECT 1 FROM payouts WHERE event_id = $1 AND \(Self.livePayout)", [event]).isEmpty else { throw Refused.alreadyPaid }
            let eligible = try await tx.query(
                """
                SELECT 1 FROM users u JOIN host_bank_accounts a ON a.user_id = u.id
                WHERE u.id = $1 AND u.host_status = 'approved' AND a.is_payout_eligible
                """, [host])
            guard !eligible.isEmpty else { throw Refused.hostNotEligible }
            guard let row = try await tx.query("\(Self.moneySQL) WHERE e.id = $1 GROUP BY e.id, u.name", [event]).first else {
                throw Refused.notPayable("the event has no bookings")
            }
            let settlement = try self.settlement(row)
            guard settlement.total_bookings_count > 0, settlement.payout >= 100 else { throw Refused.notPayable("there is nothing to pay out") }
            if let expectedAmount, expectedAmount != settlement.payout { throw Refused.amountMismatch(computed: settlement.payout) }
            let inserted: UUID? = try await tx.query(
                """
                INSERT INTO payouts (host_id, event_id, amount, gross_amount, refunded_amount, fee_amount, status, notes, created_by)
                VALUES ($1, $2, $3::bigint / 100.0, $4::bigint / 100.0, $5::bigint / 100.0, $6::bigint / 100.0, 'pending', $7, $8)
                ON CONFLICT (event_id) WHERE \(Self.livePayout) DO NOTHING RETURNING id
                """, [host, event, settlement.payout, settlement.gross, settlement.refunded, settlement.fee, notes, admin]
            ).first.map { try $0.decode(0) }
            guard let id = inserted else { throw Refused.alreadyPaid }  // another admin's click won the unique event_id
            return (id, settlement)
        }
        let (status, gatewayID) = await send(payoutID)
        return Payout(id: payoutID, status: status, razorpayPayoutID: gatewayID, settlement: settlement)
    }

    /// Asks the gateway to pay a recorded payout (idempotent by the row id); failures leave it for reconcile.
    private func send(_ payoutID: UUID) async -> (status: PayoutStatus, gatewayID: String?) {
        do {
            guard
                let row = try await postgres.query(
                    """
                    SELECT (po.amount * 100)::bigint, a.account_holder_name, a.ifsc_code, a.account_number, po.host_id, po.event_id
                    FROM payouts po JOIN host_bank_accounts a ON a.user_id = po.host_id WHERE po.id = $1 AND po.razorpay_payout_id IS NULL
                    """, [payoutID]
                ).first
            else { return (.pending, nil) }
            let payout = try await gateway.createPayout(
                amount: try row.decode(0),
                to: RazorpayPayoutDestination(
                    name: try row.decode(1), ifsc: try row.decode(2), accountNumber: try row.decode(3),
                    contactReference: try row.decode(4, as: UUID.self).lowercasedText),
                referenceID: try row.decode(5, as: UUID.self).lowercasedText, idempotencyKey: payoutID.lowercasedText,
                narration: "Happening event payout")
            let status = PayoutStatus(gatewayState: payout.status)
            try await postgres.query(
                """
                UPDATE payouts SET razorpay_payout_id = $2, status = $3::payout_status, updated_at = now(),
                       processed_at = CASE WHEN $3 = 'processed' THEN now() END
                WHERE id = $1
                """, [payoutID, payout.id, status.rawValue])
            return (status, payout.id)
        } catch let error as RazorpayError {
            guard case .rejected(_, _, let message) = error.kind else {
                logger.warning("payout not sent yet; the reconcile pass will retry", metadata: ["error": "\(error)"])
                return (.pending, nil)
            }
            // The gateway refused the request itself (a rejected IFSC …): sending it again cannot help. Failed, the
            // event may be paid out anew once the host's account is fixed.
            logger.warning("payout refused by the gateway", metadata: ["error": "\(error)"])
            _ = try? await postgres.query(
                "UPDATE payouts SET status = 'failed', failure_reason = $2, updated_at = now() WHERE id = $1 AND status = 'pending'",
                [payoutID, String(message.prefix(500))])
            return (.failed, nil)
        } catch {
            logger.warning("payout not sent yet; the reconcile pass will retry", metadata: ["error": "\(error)"])
            return (.pending, nil)
        }
    }

    /// A payout's outcome (webhook or fetch).
    public func update(gatewayID: String, status: String, failureReason: String?) async throws {
        try await Self.recordOutcome(postgres, gatewayID: gatewayID, status: status, failureReason: failureReason)
    }

    /// Stores a payout's outcome by its gateway id: only while it is still open, except that a processed payout may
    /// still be reversed by the bank (RazorpayX's processed → reversed): then the event may be paid out again.
    static func recordOutcome(_ postgres: PostgresClient, gatewayID: String, status: String, failureReason: String?) async throws {
        try await postgres.query(
            """
            UPDATE payouts SET status = $2::payout_status, failure_reason = $3, updated_at = now(),
                   processed_at = CASE WHEN $2 = 'processed' THEN now() ELSE processed_at END
            WHERE razorpay_payout_id = $1 AND (status IN ('pending', 'processing') OR (status = 'processed' AND $2 = 'reversed'))
            """, [gatewayID, PayoutStatus(gatewayState: status).rawValue, failureReason])
    }

    /// Sends recorded payouts the gateway never got, and asks about ones still processing.
    public func reconcile(minimumAge: Duration = .seconds(10)) async throws -> (sent: Int, updated: Int) {
        var result = (sent: 0, updated: 0)
        let age = Int(minimumAge.components.seconds)
        for id in try await postgres.query(
            "SELECT id FROM payouts WHERE status = 'pending' AND razorpay_payout_id IS NULL AND updated_at < now() - make_interval(secs => $1) LIMIT 50",
            [age]
        ).map({ try $0.decode(0, as: UUID.self) }) {
            if await send(id).gatewayID != nil {
                result.sent += 1
            } else {
                try await postgres.query("UPDATE payouts SET updated_at = now() WHERE id = $1", [id])
            }
        }
        for gatewayID in try await postgres.query(
            "SELECT razorpay_payout_id FROM payouts WHERE status = 'processing' AND updated_at < now() - make_interval(secs => $1) LIMIT 50",
            [age]
        ).map({ try $0.decode(0, as: String.self) }) {
            let payout = try await gateway.fetchPayout(gatewayID)
            if PayoutStatus(gatewayState: payout.status) != .processing {
                try await update(gatewayID: gatewayID, status: payout.status, failureReason: payout.failure_reason)
                result.updated += 1
            } else {
                try await postgres.query("UPDATE payouts SET updated_at = now() WHERE razorpay_payout_id = $1", [gatewayID])
            }
        }
        return result
    }
}
