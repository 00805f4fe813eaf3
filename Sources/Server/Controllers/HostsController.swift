import Foundation
import HappeningModel
import HappeningPostgres
import Hummingbird

/// `/api/hosts`: apply, my-status, bank-account, and the admin's application lists and review.
struct HostsController: Sendable {
    let hosts: HostRepository

    struct ApplyInput: Decodable {
        var phone: String?
        var idType: String?
        var idNumber: String?
        var organization: String?
        var experience: String?
        var bio: String?
        var account_holder_name: String?
        var account_number: String?
        var ifsc_code: String?
        var bank_name: String?
        var account_type: String?
    }

    static let idTypes = ["aadhaar", "pan", "passport", "driving_license", "voter_id"]

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("apply", use: apply)
        group.get("my-status", use: myStatus)
        group.get("bank-account", use: bankAccount)
        group.get("applications/pending") { try await self.list($0, $1, status: .pending) }
        group.get("admin/approved") { try await self.list($0, $1, status: .approved) }
        group.get("admin/rejected") { try await self.list($0, $1, status: .rejected) }
        group.post("applications/:userId/review", use: review)
    }

    @Sendable func apply(request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let input = try await request.decodeJSON(as: ApplyInput.self, context: context)
        var v = Validator()
        let phone = v.require(input.phone, "phone", maxLength: 20).replacingOccurrences(of: " ", with: "")
        if v.problems["phone"] == nil, phone.range(of: #"^(\+91)?[6-9][0-9]{9}$"#, options: .regularExpression) == nil {
            v.fail("phone", "must be an Indian mobile number (10 digits, optionally +91)")
        }
        let idType = v.require(input.idType, "idType", maxLength: 20).lowercased()
        if v.problems["idType"] == nil, !Self.idTypes.contains(idType) { v.fail("idType", "must be one of \(Self.idTypes.joined(separator: ", "))") }
        let idNumber = v.require(input.idNumber, "idNumber", maxLength: 20).uppercased().replacingOccurrences(of: " ", with: "")
        if v.problems["idNumber"] == nil, idNumber.range(of: #"^[A-Z0-9]{6,20}$"#, options: .regularExpression) == nil {
            v.fail("idNumber", "must be 6 to 20 letters or digits")
        }
        let holder = v.require(input.account_holder_name, "account_holder_name", maxLength: 200)
        let number = v.require(input.account_number, "account_number", maxLength: 18)
        if v.problems["account_number"] == nil, number.range(of: #"^[0-9]{9,18}$"#, options: .regularExpression) == nil {
            v.fail("account_number", "must be 9 to 18 digits")
        }
        let ifsc = v.require(input.ifsc_code, "ifsc_code", maxLength: 11).uppercased()
        if v.problems["ifsc_code"] == nil, ifsc.range(of: #"^[A-Z]{4}0[A-Z0-9]{6}$"#, options: .regularExpression) == nil {
            v.fail("ifsc_code", "must be an IFSC code like HDFC0001234")
        }
        let bank = v.require(input.bank_name, "bank_name", maxLength: 200)
        let type = (input.account_type ?? "savings").lowercased()
        if !["savings", "current"].contains(type) { v.fail("account_type", "must be savings or current") }
        for (field, value) in [("organization", input.organization), ("experience", input.experience), ("bio", input.bio)] {
            if let value, value.count > 2_000 { v.fail(field, "must be at most 2000 characters") }
        }
        try v.check()

        var data = ["phone": phone, "idType": idType, "idNumber": idNumber, "appliedAt": Date().postgresText]
        data["organization"] = input.organization
        data["experience"] = input.experience
        data["bio"] = input.bio
        guard
            try await hosts.apply(
                user: user.id, verification: try PostgresJSON(encoding: data),
                bank: BankAccountInput(holder: holder, number: number, ifsc: ifsc, bank: bank, type: type))
        else {
            throw AppError.conflict("You are already a host or your application is pending", code: "already_applied")
        }
        struct Applied: Encodable {
            let message: String
            let application: [String: String]
        }
        var application = data
        application["idNumber"] = Masking.mask(idNumber)
        application["account_number"] = Masking.mask(number)
        application["host_status"] = HostStatus.pending.rawValue
        return try context.json(Applied(message: "Host application submitted", application: application))
    }

    @Sendable func myStatus(request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let data = Masking.verification(try await hosts.verificationData(user: user.id))
        struct Status: Encodable {
            @LowercaseID var id: UUID
            let email: String, name: String, role: UserRole, is_host: Bool, host_status: HostStatus
            let host_verification_data: [String: String]?
        }
        struct Body: Encodable { let hostStatus: Status }
        return try context.json(
            Body(
                hostStatus: Status(
                    id: user.id, email: user.email, name: user.name, role: user.role, is_host: user.is_host,
                    host_status: user.host_status, host_verification_data: data)))
    }

    @Sendable func bankAccount(request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        struct Body: Encodable {
            let bank_account: HostRepository.BankAccount?
            // `null` when there is none (the spec's key is required), not a missing key.
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(bank_account, forKey: .bank_account)
            }
            enum CodingKeys: CodingKey { case bank_account }
        }
        return try context.json(Body(bank_account: try await hosts.bankAccount(user: user.id)))
    }

    func list(_ request: Request, _ context: AppRequestContext, status: HostStatus) async throws -> Response {
        _ = try context.requireAdmin()
        let page = try PageRequest(request.uri.queryParameters.dictionary)
        let rows = try await hosts.applications(status: status, page: page)
        struct Body: Encodable {
            let applications: [HostRepository.Application]
            let pagination: Pagination
        }
        let (items, pagination) = page.slice(rows)
        return try context.json(Body(applications: items, pagination: pagination))
    }

    @Sendable func review(request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        let id = try context.uuidParameter("userId")
        let input = try await request.decodeJSON(as: EventsController.ReviewInput.self, context: context)
        guard let action = input.action.flatMap(ReviewAction.init(rawValue:)) else { throw AppError.validation(["action": "must be approve or reject"]) }
        if let notes = input.adminNotes, notes.count > 2_000 { throw AppError.validation(["adminNotes": "must be at most 2000 characters"]) }
        switch try await hosts.review(user: id, decision: action, notes: input.adminNotes) {
        case .notFound: throw AppError.notFound("User not found", code: "user_not_found")
        case .notPending: throw AppError.conflict("This user has no pending host application", code: "not_pending")
        case .reviewed:
            struct Body: Encodable {
                let message: String
                let status: HostStatus
            }
            let status = action.hostStatus
            return try context.json(Body(message: "Host application \(status.rawValue)", status: status))
        }
    }
}
