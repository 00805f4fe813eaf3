import Foundation
import HappeningModel
import HappeningPostgres

/// Payouts as the API lists them. Creating and settling payouts is `PayoutService`'s (Payments).
struct PayoutRepository: Sendable {
    let postgres: PostgresClient

    /// A payout as the admin list and a host's own list show it (`host_email` for the admin only).
    struct PayoutRow: Encodable, Sendable {
        @LowercaseID var id: UUID
        @LowercaseID var event_id: UUID
        let event_title: String
        @LowercaseID var host_id: UUID
        let host_name: String
        let host_email: String?
        let amount: String
        let gross_amount: String?
        let refunded_amount: String?
        let fee_amount: String?
        let status: String
        let razorpay_payout_id: String?
        let failure_reason: String?
        let created_at: Date
        let processed_at: Date?
    }

    private func rows(where condition: String, _ bindings: PostgresBindings, includeEmail: Bool) async throws -> [PayoutRow] {
        try await postgres.query(
            """
            SELECT po.id, po.event_id, e.title, po.host_id, u.name, u.email, po.amount::text, po.gross_amount::text, po.refunded_amount::text,
                   po.fee_amount::text, po.status::text, po.razorpay_payout_id, po.failure_reason, po.created_at, po.processed_at
            FROM payouts po JOIN events e ON e.id = po.event_id JOIN users u ON u.id = po.host_id
            WHERE \(condition)
            """, bindings
        ).map { row in
            PayoutRow(
                id: try row.decode(0), event_id: try row.decode(1),
                event_title: try row.decode(2), host_id: try row.decode(3), host_name: try row.decode(4),
                host_email: includeEmail ? try row.decode(5) : nil, amount: try row.decode(6), gross_amount: try row.decode(7, as: String?.self),
                refunded_amount: try row.decode(8, as: String?.self), fee_amount: try row.decode(9, as: String?.self), status: try row.decode(10),
                razorpay_payout_id: try row.decode(11, as: String?.self), failure_reason: try row.decode(12, as: String?.self),
                created_at: try row.decode(13), processed_at: try row.decode(14, as: Date?.self))
        }
    }

    /// The admin's list: every payout, optionally of one status and one host, newest first.
    func list(status: String?, host: UUID?, page: PageRequest) async throws -> [PayoutRow] {
        try await rows(
            where: "($1::text IS NULL OR po.status::text = $1) AND ($2::uuid IS NULL OR po.host_id = $2) ORDER BY po.created_at DESC, po.id LIMIT $3 OFFSET $4",
            [status, host, page.limit, page.offset], includeEmail: true)
    }

    /// A host's own payouts, newest first.
    func mine(_ host: UUID, page: PageRequest) async throws -> [PayoutRow] {
        try await rows(where: "po.host_id = $1 ORDER BY po.created_at DESC, po.id LIMIT $2 OFFSET $3", [host, page.limit, page.offset], includeEmail: false)
    }

    /// Rupees paid or on their way to `host` (every payout but failed and reversed ones), exact.
    func totalPaid(to host: UUID) async throws -> String {
        try await postgres.query(
            "SELECT coalesce(sum(amount), 0.00)::text FROM payouts WHERE host_id = $1 AND status NOT IN ('failed', 'reversed')", [host])[0].decode(0)
    }
}
