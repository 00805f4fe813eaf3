import ArgumentParser
import Foundation
import HappeningAuth
import HappeningCommandLine
import HappeningGeo
import HappeningSystem

/// `happening-seed`: fills a database with realistic, deterministic data, and creates scenario fixtures.
///
/// Reads configuration and runs; the work is in ``Seeder``. Bad arguments, an unknown city or an
/// unreachable database print one message and exit with status 2; Ctrl-C exits with 130 after keeping
/// whole batches only.
@main
struct SeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "happening-seed",
        abstract: "Fills the database with geospatial events, hosts, users and bookings, and creates scenario fixtures.",
        discussion: """
            Row i of every table is a pure function of --seed and --anchor-date, so two runs with the same values \
            produce the same rows, ids included. With DEV_MODE=1 (a development stack) every seeded account's \
            password is the published dev password \(DevCredentials.password); otherwise no password is known for \
            them (bench users sign in with the tokens --tokens-out mints), and the server refuses a database holding \
            the dev password unless it runs with DEV_MODE=1 too.

            Examples:
              happening-seed --reset --events 1000000 --users 50000
              happening-seed --reset --events 20000 --users 2000 --bookings 50000
              happening-seed --events 0 --users 0 --bench-users 5000 --tokens-out .run/tokens.jsonl --flash-sale-event tickets=100 --json
            """)

    @Option(help: "PostgreSQL URL (default: $DATABASE_URL).")
    var databaseURL: String?

    @Option(help: "Seed of the generator: the same seed gives the same rows.")
    var seed: UInt64 = 1

    @Option(help: "The day (YYYY-MM-DD, UTC) event dates are spread around, −90 … +180 days (default: today).")
    var anchorDate: String?

    @Option(help: "Events to create (default 10000, or 0 when only fixtures are asked for).")
    var events: Int?

    @Option(help: "Make sure the database holds at least N events: count them and add only the missing ones (with hosts and a seed of their own).")
    var minEvents: Int?

    @Option(help: "Users to create (default 1000, or 0 when only fixtures are asked for).")
    var users: Int?

    @Option(help: "How many of the users are approved hosts with bank accounts (default: users/20, at least 1).")
    var hosts: Int?

    @Option(help: "Historical bookings (with payments) to create.")
    var bookings: Int = 0

    @Option(help: "Comma-separated gazetteer cities to place events in (default: all, weighted by population).")
    var cities: String?

    @Flag(help: "Drop the schema and re-apply the schema file first; indexes are built after the load.")
    var reset = false

    @Option(help: "The schema file applied by --reset (default: the init.sql built into the seeder).")
    var schema: String?

    @Option(help: "Rows per COPY batch (each batch commits on its own).")
    var batchSize: Int = 50_000

    @Option(help: "Bench users to create (or reuse) with ready-made tokens (needs JWT_SECRET).")
    var benchUsers: Int = 0

    @Option(help: "Write the bench users' tokens here, one JSON object per line: {user_id, email, token}.")
    var tokensOut: String?

    @Option(help: "Hours the bench users' tokens stay valid.")
    var tokenTTLHours: Int = 24

    @Option(help: "Create an approved event a week ahead with exactly K tickets: tickets=K[,price=P] (P in rupees).")
    var flashSaleEvent: String?

    @Option(help: "Write the events as CSV into this directory instead of loading anything (for timing psql \\copy).")
    var csvOut: String?

    @Option(help: "Progress display: auto (a redrawn bar on a terminal, lines otherwise), live (also: bar), lines or none.")
    var progress: ProgressOption = .auto

    @Flag(help: "Print the summary as JSON on stdout.")
    var json = false

    /// Parses, runs and maps every failure to the documented exit status.
    static func main() async {
        let command: SeedCommand
        do {
            command = try parse()
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }
            FileHandle.standardError.write(Data("happening-seed: \(message(for: error))\n".utf8))
            Foundation.exit(2)
        }
        do {
            try await command.execute()
        } catch let error as UsageError {
            FileHandle.standardError.write(Data("happening-seed: \(error)\n".utf8))
            Foundation.exit(2)
        } catch {
            FileHandle.standardError.write(Data("happening-seed: failed: \(error)\n".utf8))
            Foundation.exit(1)
        }
    }

    func execute() async throws {
        let request = try makeRequest(environment: ProcessInfo.processInfo.environment)
        let style: ProgressStyle = json && progress == .auto ? .none : progress.style
        let interruption = Interruption()
        signal(SIGINT, SIG_IGN)
        let signals = DispatchSource.makeSignalSource(signal: SIGINT)
        signals.setEventHandler { interruption.request() }
        signals.resume()
        let summary = try await Seeder(request: request, interruption: interruption, progress: ProgressReporter(style: style)).run()
        signals.cancel()
        print(json ? try summary.json() : summary.text())
        if summary.interrupted { Foundation.exit(130) }
    }

    /// Validates the arguments into a request; every problem is a ``UsageError``.
    func makeRequest(environment: [String: String]) throws -> SeedRequest {
        let fixturesOnly = benchUsers > 0 || flashSaleEvent != nil || minEvents != nil
        if let minEvents {
            guard (1...50_000_000).contains(minEvents) else { throw UsageError("--min-events must be from 1 to 50000000, got \(minEvents)") }
            guard self.events == nil, self.users == nil, self.hosts == nil, bookings == 0, !reset else {
                throw UsageError("--min-events decides the events and users itself: drop --events, --users, --hosts, --bookings and --reset")
            }
        }
        let users = self.users ?? (fixturesOnly ? 0 : 1_000)
        let events = self.events ?? (fixturesOnly ? 0 : 10_000)
        for (name, value) in [("--events", events), ("--users", users), ("--bookings", bookings), ("--bench-users", benchUsers)] {
            guard (0...50_000_000).contains(value) else { throw UsageError("\(name) must be from 0 to 50000000, got \(value)") }
        }
        let hosts = self.hosts ?? (users == 0 ? 0 : max(1, users / 20))
        guard hosts >= 0, hosts <= users else { throw UsageError("--hosts must be from 0 to --users (\(users)), got \(hosts)") }
        if events > 0, hosts == 0 { throw UsageError("events need at least one host: give --users (and --hosts) ≥ 1") }
        if bookings > 0, events == 0 || users == 0 { throw UsageError("--bookings needs --events and --users above 0") }
        guard (1...1_000_000).contains(batchSize) else { throw UsageError("--batch-size must be from 1 to 1000000") }
        guard (1...24 * 365).contains(tokenTTLHours) else { throw UsageError("--token-ttl-hours must be from 1 to 8760") }
        if tokensOut != nil, benchUsers == 0 { throw UsageError("--tokens-out needs --bench-users N") }

        let gazetteer = Gazetteer()
        var chosen = gazetteer.cities
        if let cities {
            chosen = []
            for name in cities.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
                guard let city = gazetteer.city(named: name) else {
                    let hint = gazetteer.suggestions(for: name).map(\.name)
                    throw UsageError("unknown city '\(name)'\(hint.isEmpty ? "" : " (did you mean \(hint.joined(separator: ", "))?)")")
                }
                if !chosen.contains(city) { chosen.append(city) }
            }
            if chosen.isEmpty { throw UsageError("--cities names no city") }
        }
        let anchorDay: Int
        if let anchorDate {
            guard let day = SeedPlan.parse(day: anchorDate) else { throw UsageError("--anchor-date must be a date YYYY-MM-DD, got '\(anchorDate)'") }
            anchorDay = day
        } else {
            anchorDay = Int(Date().timeIntervalSince1970 / 86_400)
        }
        var plan = SeedPlan(
            seed: seed, anchorDay: anchorDay, users: users, hosts: hosts, events: events, bookings: bookings,
            cities: chosen, cityWeights: chosen.map { Double(gazetteer.populationThousands(of: $0)) })
        let development = environment["DEV_MODE"] == "1" || environment["DEV_MODE"] == "true"
        plan.passwordHash = development ? DevCredentials.passwordHash : DevCredentials.lockedHash()

        var request = SeedRequest(plan: plan, databaseURL: "")
        request.csvDirectory = csvOut
        if csvOut == nil {
            guard let url = databaseURL ?? environment["DATABASE_URL"], !url.isEmpty else {
                throw UsageError("no database: pass --database-url or set DATABASE_URL (make services writes it to .run/env)")
            }
            request.databaseURL = url
        }
        request.reset = reset
        if reset {
            request.schemaSQL = try Self.schemaText(path: schema)
        }
        request.batchSize = batchSize
        request.minimumEvents = minEvents
        request.benchUsers = benchUsers
        request.tokensOut = tokensOut
        request.tokenTTL = .seconds(tokenTTLHours * 3600)
        request.jwtSecret = environment["JWT_SECRET"]
        if let flashSaleEvent {
            switch FlashSaleSpec.parse(flashSaleEvent) {
            case .success(let spec): request.flashSale = spec
            case .failure(let error): throw error
            }
        }
        return request
    }

    /// The schema `--reset` applies: the file at `path`, or the `init.sql` bundled with the seeder.
    static func schemaText(path: String?) throws -> String {
        if let path {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw UsageError("--schema: cannot read the schema file '\(path)'")
            }
            return text
        }
        guard let url = Bundle.module.url(forResource: "init", withExtension: "sql"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { throw UsageError("--reset: the seeder's bundled init.sql is missing (Happening_Seed.resources next to the binary); pass --schema") }
        return text
    }
}

/// `--progress auto|live|lines|none` (`bar` is still read as `live`), the same option as the Bench's.
extension ProgressOption: ExpressibleByArgument {}
