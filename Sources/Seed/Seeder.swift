import Foundation
import HappeningAuth
import HappeningCommandLine
import HappeningModel
import HappeningPostgres
import HappeningSystem

/// Everything one run was asked to do.
struct SeedRequest: Sendable {
    var plan: SeedPlan
    var databaseURL: String
    var reset = false
    /// init.sql's text (required with `reset`).
    var schemaSQL: String?
    var batchSize = 50_000
    var benchUsers = 0
    var tokensOut: String?
    var tokenTTL: Duration = .seconds(24 * 3600)
    var jwtSecret: String?
    var flashSale: FlashSaleSpec?
    /// `--min-events N`: top the events up to N (nothing when there are already that many).
    var minimumEvents: Int?
    /// Write the events as CSV here instead of loading anything.
    var csvDirectory: String?
}

/// Runs a ``SeedRequest``: reset, bulk load, index rebuild, fixtures, summary.
struct Seeder: Sendable {
    let request: SeedRequest
    let interruption: Interruption
    let progress: ProgressReporter

    func run() async throws -> SeedSummary {
        let plan = request.plan
        var summary = SeedSummary(seed: plan.seed, anchor_date: plan.anchorDate, database: Self.redacted(request.databaseURL), reset: request.reset)
        summary.dev_password = plan.passwordHash == DevCredentials.passwordHash ? DevCredentials.password : nil
        let progressTask = Task { await progress.run() }
        defer { progressTask.cancel() }
        let started = ContinuousClock.now

        if let directory = request.csvDirectory {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let path = (directory as NSString).appendingPathComponent("events.csv")
            try CSVExport(events: EventFactory(plan: plan)).writeEvents(count: plan.events, to: path, progress: progress)
            summary.csv_files = [path]
            summary.database = "(none: CSV export)"
            return summary
        }

        let postgres = PostgresClient(configuration: .init(url: request.databaseURL, poolSize: 2, applicationName: "happening-seed"))
        do {
            let result = try await load(postgres: postgres, summary: summary, started: started)
            await postgres.shutdown()
            return result
        } catch {
            await postgres.shutdown()
            throw error
        }
    }

    private func load(postgres: PostgresClient, summary: SeedSummary, started: ContinuousClock.Instant) async throws -> SeedSummary {
        var plan = request.plan
        var summary = summary
        do {
            try await postgres.query("SELECT 1")
        } catch {
            throw UsageError("cannot reach the database at \(summary.database) (\(error)); is it running? (make services)")
        }

        let schema = SchemaManager(postgres: postgres)
        var deferred: SchemaManager.Deferred?
        if request.reset {
            guard let sql = request.schemaSQL else { throw UsageError("--reset needs the schema file (--schema)") }
            try await schema.reset(schemaSQL: sql)
            deferred = try await schema.deferIndexes()
        }

        var eventsPresent = 0
        if let minimum = request.minimumEvents {
            let present = Int(try await postgres.query("SELECT count(*) FROM events")[0].decode(0, as: Int64.self))
            eventsPresent = present
            summary.events_present = present
            plan = plan.toppingUp(events: minimum - present, present: present)
            summary.seed = plan.seed
        }
        let people = PeopleFactory(plan: plan)
        let bulk = plan.users > 0 || plan.events > 0
        if bulk {
            if !request.reset {
                let present = try await postgres.query("SELECT 1 FROM users WHERE id = $1 OR lower(email) = $2", [people.adminId, people.adminEmail])
                if !present.isEmpty {
                    throw UsageError("the rows of --seed \(plan.seed) are already in this database; use --reset, or another --seed to append")
                }
            }
            summary.admin_email = try await loadBulk(plan: plan, people: people, postgres: postgres, into: &summary)
        }

        if let deferred {
            progress.begin("indexes", total: 0)
            let indexStarted = ContinuousClock.now
            try await schema.restore(deferred, parallelism: 2)
            summary.index_seconds = ((ContinuousClock.now - indexStarted).seconds * 100).rounded() / 100
        } else if bulk, !interruption.isRequested {
            // Appended to live tables: the indexes grew row by row (see SchemaManager.refreshAfterAppend).
            progress.begin("indexes", total: 0)
            let indexStarted = ContinuousClock.now
            if request.minimumEvents == nil {
                eventsPresent = Int(try await postgres.query("SELECT count(*) FROM events")[0].decode(0, as: Int64.self)) - plan.events
            }
            summary.reindexed = try await schema.refreshAfterAppend(addedEvents: plan.events, totalEvents: eventsPresent + plan.events)
            summary.index_seconds = ((ContinuousClock.now - indexStarted).seconds * 100).rounded() / 100
        }
        summary.interrupted = interruption.isRequested
        summary.total_rows = summary.tables.reduce(0) { $0 + $1.rows }
        summary.seconds = ((ContinuousClock.now - started).seconds * 1000).rounded() / 1000
        summary.rows_per_second = summary.seconds > 0 ? Int(Double(summary.total_rows) / summary.seconds) : 0
        if summary.interrupted { return summary }

        let fixtures = Fixtures(postgres: postgres, passwordHash: request.plan.passwordHash)
        if request.benchUsers > 0 {
            guard let secret = request.jwtSecret, !secret.isEmpty else {
                throw UsageError("--bench-users needs JWT_SECRET (the server's) in the environment to mint tokens")
            }
            let tokens = TokenService(secret: secret, ttl: request.tokenTTL)
            let users = try await fixtures.benchUsers(count: request.benchUsers, seed: plan.seed, tokens: tokens, progress: progress)
            if let path = request.tokensOut { try Fixtures.writeTokens(users, to: path) }
            summary.bench_users = users.count
            summary.tokens_file = request.tokensOut
        }
        if let spec = request.flashSale {
            let id = try await fixtures.flashSaleEvent(spec)
            summary.flash_sale_event = .init(
                id: id.lowercasedText, tickets: spec.tickets,
                price: CSVExport.decimal(spec.pricePaise, scale: 2))
        }
        return summary
    }

    /// The admin, users, hosts' bank accounts, events, then bookings with payments. Returns the admin's e-mail.
    private func loadBulk(plan: SeedPlan, people: PeopleFactory, postgres: PostgresClient, into summary: inout SeedSummary) async throws -> String {
        // A plain insert: the table was just checked (or reset), and with --reset its unique indexes are deferred.
        try await postgres.query(
            "INSERT INTO users (id, email, password_hash, name, role, created_at) VALUES ($1, $2, $3, 'Seed Admin', 'admin', $4)",
            [people.adminId, people.adminEmail, plan.passwordHash, Date(timeIntervalSince1970: Double(plan.anchorMicros / 1_000_000) - 800 * 86_400)])
        let loader = BulkLoader(postgres: postgres, interruption: interruption, progress: progress, batchSize: request.batchSize)
        summary.tables.append(
            try await loader.load(table: "users", columns: PeopleFactory.userColumns, count: plan.users) { index, writer in
                people.writeUser(index, to: &writer)
            })
        if interruption.isRequested { return people.adminEmail }
        summary.tables.append(
            try await loader.load(table: "host_bank_accounts", columns: PeopleFactory.bankColumns, count: plan.hosts) { index, writer in
                people.writeBankAccount(index, to: &writer)
            })
        if interruption.isRequested { return people.adminEmail }
        let events = EventFactory(plan: plan)
        summary.tables.append(
            try await loader.load(table: "events", columns: EventFactory.columns, count: plan.events) { index, writer in
                events.write(events.event(index), held: 0, to: &writer)
            })
        if interruption.isRequested || plan.bookings == 0 { return people.adminEmail }
        let planner = BookingPlanner(plan: plan, events: events)
        let ledger = planner.makeLedger()
        summary.tables.append(contentsOf: try await loader.loadBookings(planner, ledger: ledger))
        return people.adminEmail
    }

    /// The URL without its password.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "(unparseable URL)" }
        if components.password != nil { components.password = "***" }
        return components.string ?? "(unparseable URL)"
    }
}
