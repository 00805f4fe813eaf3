import Foundation
import HappeningPostgres

/// Users, approved hosts with bank accounts, and the admin, as rows computed from their index.
struct PeopleFactory: Sendable {
    let plan: SeedPlan

    /// The id of user `index` (cheap: the first draw of the user's generator).
    func userId(_ index: Int) -> UUID {
        var random = SeedRandom(seed: plan.seed, stream: .user, index: index)
        return random.uuid()
    }

    /// The seed's admin (approves and rejects the generated events).
    var adminId: UUID {
        var random = SeedRandom(seed: plan.seed, stream: .admin, index: 0)
        return random.uuid()
    }

    var adminEmail: String { "admin@\(plan.emailDomain)" }

    /// One user's generated fields.
    struct User {
        var id: UUID
        var email: String
        var name: String
        var createdMicros: Int64
        var hostStatus: String
        var verification: String?
    }

    func user(_ index: Int) -> User {
        var random = SeedRandom(seed: plan.seed, stream: .user, index: index)
        let id = random.uuid()
        let first = random.pick(WordLists.firstNames)
        let last = random.pick(WordLists.lastNames)
        let created = plan.anchorMicros - Int64(random.below(730 * 24)) * 3_600_000_000 - 3_600_000_000
        var status = "not_requested"
        var verification: String?
        if index < plan.hosts {
            status = "approved"
        } else if random.chance(0.02) {
            status = random.chance(0.75) ? "pending" : "rejected"
        }
        if status != "not_requested" {
            let phone = "9\(random.within(100_000_000...999_999_999))"
            verification = #"{"phone":"\#(phone)","idType":"pan","idNumber":"SEED\#(random.within(100_000...999_999))","organization":"\#(last) Events"}"#
        }
        return User(
            id: id, email: "\(first.lowercased()).\(last.lowercased()).\(index)@\(plan.emailDomain)",
            name: "\(first) \(last)", createdMicros: created, hostStatus: status, verification: verification)
    }

    static let userColumns = ["id", "email", "password_hash", "name", "role", "created_at", "is_host", "host_status", "host_verification_data"]

    /// Writes user `index` in ``userColumns`` order.
    func writeUser(_ index: Int, to writer: inout PostgresCopyWriter) {
        let user = user(index)
        writer.beginRow(fields: 9)
        writer.uuid(user.id)
        writer.text(user.email)
        writer.text(plan.passwordHash)
        writer.text(user.name)
        writer.text("user")
        writer.timestamp(microsecondsSince1970: user.createdMicros)
        writer.bool(user.hostStatus != "not_requested")
        writer.text(user.hostStatus)
        if let verification = user.verification { writer.jsonb(verification) } else { writer.null() }
    }

    static let bankColumns = [
        "id", "user_id", "account_holder_name", "account_number", "ifsc_code", "bank_name", "account_type",
        "is_verified", "verified_at", "created_at", "updated_at", "is_payout_eligible",
    ]

    /// Writes host `index`'s bank account (verified and payout-eligible) in ``bankColumns`` order.
    func writeBankAccount(_ index: Int, to writer: inout PostgresCopyWriter) {
        let owner = user(index)
        var random = SeedRandom(seed: plan.seed, stream: .bankAccount, index: index)
        let id = random.uuid()
        let (bank, prefix) = random.pick(WordLists.banks)
        let digits = random.within(11...16)
        var number = String(random.within(1...9))
        for _ in 1..<digits { number.append(String(random.below(10))) }
        let alphanumerics = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var ifsc = prefix + "0"
        for _ in 0..<6 { ifsc.append(random.pick(alphanumerics)) }
        let verified = owner.createdMicros + Int64(random.within(1...14)) * SeedPlan.microsecondsPerDay
        writer.beginRow(fields: 12)
        writer.uuid(id)
        writer.uuid(owner.id)
        writer.text(owner.name)
        writer.text(number)
        writer.text(ifsc)
        writer.text(bank)
        writer.text(random.chance(0.7) ? "savings" : "current")
        writer.bool(true)
        writer.timestamp(microsecondsSince1970: min(verified, plan.anchorMicros))
        writer.timestamp(microsecondsSince1970: owner.createdMicros)
        writer.timestamp(microsecondsSince1970: min(verified, plan.anchorMicros))
        writer.bool(true)
    }
}
