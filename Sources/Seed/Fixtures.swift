import Foundation
import HappeningAuth
import HappeningCommandLine
import HappeningModel
import HappeningPostgres
import HappeningSystem

/// `--flash-sale-event tickets=K[,price=P]`: the event a flash-sale scenario books.
struct FlashSaleSpec: Sendable, Equatable {
    var tickets: Int
    /// In paise.
    var pricePaise: Int64

    /// Parses `tickets=K[,price=P]` (P in rupees, up to two decimals); nil with a reason when invalid.
    static func parse(_ text: String) -> Result<FlashSaleSpec, UsageError> {
        var tickets: Int?
        var price: Int64 = 0
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { return .failure(.init("--flash-sale-event: expected key=value, got '\(part)'")) }
            switch pair[0] {
            case "tickets":
                guard let value = Int(pair[1]), value >= 1, value <= 1_000_000 else {
                    return .failure(.init("--flash-sale-event: tickets must be a whole number from 1 to 1000000"))
                }
                tickets = value
            case "price":
                guard let value = PostgresNumeric(pair[1]), let paise = try? value.minorUnits(scale: 2), paise >= 0, paise <= 10_000_000_00 else {
                    return .failure(.init("--flash-sale-event: price must be rupees from 0 to 10000000 with at most 2 decimals"))
                }
                price = paise
            default:
                return .failure(.init("--flash-sale-event: unknown key '\(pair[0])' (use tickets and price)"))
            }
        }
        guard let tickets else { return .failure(.init("--flash-sale-event: tickets=K is required")) }
        return .success(FlashSaleSpec(tickets: tickets, pricePaise: price))
    }
}

/// Rows that scenarios need on top of (or instead of) the bulk data: an admin and a host that own fixtures,
/// bench users with ready-made tokens, and flash-sale events. Fixture accounts have fixed e-mail addresses
/// under `bench.happening.test` and are reused when they exist, so scenarios can run again and again.
struct Fixtures: Sendable {
    let postgres: PostgresClient
    /// The password hash new fixture accounts get (``SeedPlan/passwordHash``).
    let passwordHash: String

    static let domain = "bench.happening.test"

    /// Inserts an account unless its e-mail exists; returns its id either way.
    func account(email: String, name: String, role: UserRole, host: Bool, id: UUID = UUID()) async throws -> UUID {
        let rows = try await postgres.query(
            """
            WITH inserted AS (
                INSERT INTO users (id, email, password_hash, name, role, is_host, host_status)
                VALUES ($1, $2, $3, $4, $5::user_role, $6, CASE WHEN $6 THEN 'approved' ELSE 'not_requested' END::host_status)
                ON CONFLICT ((lower(email))) DO NOTHING RETURNING id)
            SELECT id FROM inserted UNION ALL SELECT id FROM users WHERE lower(email) = lower($2) LIMIT 1
            """, [id, email, passwordHash, name, role.rawValue, host])
        return try rows[0].decode(0)
    }

    /// One bench user: its id, e-mail and a token the server accepts.
    struct BenchUser: Codable, Sendable {
        var user_id: String
        var email: String
        var token: String
    }

    /// Ensures `count` bench users exist (`bench-00000@…` …, ids from `seed`) and mints their tokens.
    func benchUsers(count: Int, seed: UInt64, tokens: TokenService, progress: ProgressReporter) async throws -> [BenchUser] {
        guard count > 0 else { return [] }
        let emails = (0..<count).map { String(format: "bench-%05d@%@", $0, Self.domain) }
        let ids = (0..<count).map { index -> UUID in
            var random = SeedRandom(seed: seed, stream: .benchUser, index: index)
            return random.uuid()
        }
        try await postgres.withTransaction { connection in
            try await connection.query("CREATE TEMP TABLE bench_users_in (id uuid, email text) ON COMMIT DROP")
            let source = RowSource(interruption: Interruption(), progress: progress) { index, writer in
                writer.beginRow(fields: 2)
                writer.uuid(ids[index])
                writer.text(emails[index])
            }
            progress.begin("bench users", total: count)
            _ = try await connection.copyBinary(table: "bench_users_in", columns: ["id", "email"], rows: 0..<count, from: source)
            progress.end()
            try await connection.query(
                """
                INSERT INTO users (id, email, password_hash, name, role)
                SELECT id, email, $1, 'Bench User ' || substr(email, 7, 5), 'user' FROM bench_users_in
                ON CONFLICT DO NOTHING
                """, [passwordHash])
        }
        let rows = try await postgres.query(
            "SELECT lower(email), id, role::text FROM users WHERE lower(email) = ANY($1::text[])", [PostgresArray(emails)])
        var byEmail: [String: (UUID, String)] = [:]
        for row in rows { byEmail[try row.decode(0)] = (try row.decode(1), try row.decode(2)) }
        var users: [BenchUser] = []
        users.reserveCapacity(count)
        let now = Date()
        for email in emails {
            guard let (id, role) = byEmail[email] else { throw UsageError("bench user \(email) could not be created") }
            users.append(
                BenchUser(
                    user_id: id.lowercasedText, email: email,
                    token: try tokens.issue(userId: id, email: email, role: role, now: now)))
        }
        return users
    }

    /// Writes one JSON object per line: `{"user_id", "email", "token"}`.
    static func writeTokens(_ users: [BenchUser], to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = Data()
        for user in users {
            data.append(try encoder.encode(user))
            data.append(0x0A)
        }
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Creates an approved event a week ahead in Mumbai with exactly `spec.tickets` tickets; returns its id.
    /// Every call creates a new event (a fresh random id), so each scenario run books its own.
    func flashSaleEvent(_ spec: FlashSaleSpec) async throws -> UUID {
        let admin = try await account(email: "bench-admin@\(Self.domain)", name: "Bench Admin", role: .admin, host: false)
        let host = try await account(email: "bench-host@\(Self.domain)", name: "Bench Host", role: .user, host: true)
        let id = UUID()
        try await postgres.query(
            """
            INSERT INTO events (id, created_by, title, description, date_time, venue, total_tickets, available_tickets, price,
                                category, approval_status, approved_by, approved_at, latitude, longitude)
            VALUES ($1, $2, $3, 'A fixture for the flash-sale scenario: many buyers, few tickets.', now() + interval '7 days',
                    'Bench Arena, Mumbai', $4, $4, $5::numeric, 'music', 'approved', $6, now(), 19.076, 72.8777)
            """,
            [
                id, host, "Flash Sale \(id.uuidString.prefix(8).lowercased())", spec.tickets,
                PostgresNumeric(minorUnits: spec.pricePaise, scale: 2), admin,
            ])
        return id
    }
}
