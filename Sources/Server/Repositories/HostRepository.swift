import Foundation
import HappeningModel
import HappeningPostgres

/// Host applications: the applicant's details in `users.host_verification_data` and the bank account in
/// `host_bank_accounts`. Account and ID numbers are written in full there and masked in everything read.
struct HostRepository: Sendable {
    let postgres: PostgresClient

    /// Records an application; nil when the user is already approved or pending.
    func apply(user: UUID, verification: PostgresJSON, bank: BankAccountInput) async throws -> Bool {
        try await postgres.withTransaction { tx in
            let updated = try await tx.query(
                """
                UPDATE users SET is_host = true, host_status = 'pending', host_verification_data = $2::jsonb
                WHERE id = $1 AND host_status IN ('not_requested', 'rejected')
                """, [user, verification])
            guard updated.affectedRows == 1 else { return false }
            try await tx.query(
                """
                INSERT INTO host_bank_accounts (user_id, account_holder_name, account_number, ifsc_code, bank_name, account_type)
                VALUES ($1, $2, $3, $4, $5, $6::bank_account_type)
                ON CONFLICT (user_id) DO UPDATE SET account_holder_name = EXCLUDED.account_holder_name,
                    account_number = EXCLUDED.account_number, ifsc_code = EXCLUDED.ifsc_code, bank_name = EXCLUDED.bank_name,
                    account_type = EXCLUDED.account_type, is_verified = false, verified_at = NULL, is_payout_eligible = false,
                    updated_at = now()
                """, [user, bank.holder, bank.number, bank.ifsc, bank.bank, bank.type])
            return true
        }
    }

    /// A bank account as the API shows it (number masked).
    struct BankAccount: Codable, Sendable {
        var account_holder_name: String
        var account_number: String
        var ifsc_code: String
        var bank_name: String
        var account_type: String
        var is_verified: Bool
        var is_payout_eligible: Bool
    }

    func bankAccount(user: UUID) async throws -> BankAccount? {
        try await postgres.query(
            """
            SELECT account_holder_name, account_number, ifsc_code, bank_name, account_type::text, is_verified, is_payout_eligible
            FROM host_bank_accounts WHERE user_id = $1
            """, [user]
        ).first.map { row in
            BankAccount(
                account_holder_name: try row.decode(0), account_number: Masking.mask(try row.decode(1)), ifsc_code: try row.decode(2),
                bank_name: try row.decode(3), account_type: try row.decode(4), is_verified: try row.decode(5), is_payout_eligible: try row.decode(6))
        }
    }

    /// The caller's host status with masked verification data.
    func verificationData(user: UUID) async throws -> PostgresJSON? {
        try await postgres.query("SELECT host_verification_data FROM users WHERE id = $1", [user]).first?.decode(0, as: PostgresJSON?.self)
    }

    /// One application in the admin lists.
    struct Application: Codable, Sendable {
        @LowercaseID var id: UUID
        var email: String
        var name: String
        var host_status: HostStatus
        var host_verification_data: [String: String]?
        var created_at: Date
    }

    func applications(status: HostStatus, page: PageRequest) async throws -> [Application] {
        try await postgres.query(
            """
            SELECT id, email, name, host_status::text, host_verification_data, created_at FROM users
            WHERE host_status = $1::host_status ORDER BY created_at DESC, id LIMIT $2 OFFSET $3
            """, [status.rawValue, page.limit + 1, page.offset]
        ).map { row in
            Application(
                id: try row.decode(0), email: try row.decode(1), name: try row.decode(2),
                host_status: try row.decode(3), host_verification_data: Masking.verification(try row.decode(4, as: PostgresJSON?.self)),
                created_at: try row.decode(5))
        }
    }

    enum ReviewOutcome { case reviewed, notFound, notPending }

    /// Decides a pending application (a conditional transition: only `pending` can be decided).
    func review(user: UUID, decision: ReviewAction, notes: String?) async throws -> ReviewOutcome {
        let review = try PostgresJSON(encoding: ["adminNotes": notes ?? "", "reviewedAt": Date().postgresText])
        let updated = try await postgres.query(
            """
            UPDATE users SET host_status = $2::host_status, is_host = $3,
                host_verification_data = COALESCE(host_verification_data, '{}'::jsonb) || $4::jsonb
            WHERE id = $1 AND host_status = 'pending'
            """, [user, decision.hostStatus.rawValue, decision == .approve, review])
        if updated.affectedRows == 1 { return .reviewed }
        let exists = try await postgres.query("SELECT 1 FROM users WHERE id = $1", [user])
        return exists.isEmpty ? .notFound : .notPending
    }
}

/// Validated bank details from an application.
struct BankAccountInput: Sendable {
    var holder: String
    var number: String
    var ifsc: String
    var bank: String
    var type: String
}

/// Masks account and ID numbers: only the last four characters stay visible.
enum Masking {
    static func mask(_ value: String) -> String {
        guard value.count > 4 else { return String(repeating: "X", count: value.count) }
        return String(repeating: "X", count: value.count - 4) + value.suffix(4)
    }

    /// Verification data as strings, with `idNumber` and `account_number` masked.
    static func verification(_ json: PostgresJSON?) -> [String: String]? {
        guard let json, let object = try? JSONSerialization.jsonObject(with: Data(json.text.utf8)) as? [String: Any] else { return nil }
        var result: [String: String] = [:]
        for (key, value) in object {
            let text = value as? String ?? "\(value)"
            result[key] = ["idNumber", "account_number"].contains(key) ? mask(text) : text
        }
        return result
    }
}
