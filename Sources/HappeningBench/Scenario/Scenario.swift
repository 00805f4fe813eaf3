import Foundation
import HappeningCommandLine
import HappeningSystem
import Yams

/// A scenario file (`scenarios/*.yaml`): variables, setup steps, value pools, weighted request templates,
/// phases, an optional ledger check and thresholds.
///
/// `${name}` in the file is replaced before parsing with the scenario's `variables` (overridden by
/// `--set name=value`) and built-ins (`run_dir`); names that are not variables (pool values, values captured
/// by setup steps) are left for request rendering.
package struct Scenario: Codable, Sendable {
    package var name: String
    var description: String?
    var variables: [String: String]?
    var setup: [SetupStep]?
    var pools: [String: Pool]?
    var requests: [RequestTemplate]
    /// The phases, in order (a scenario without lanes).
    var phases: [Phase]?
    /// Lanes that run at once, each with its own phases (instead of `phases`).
    var lanes: [Lane]?
    package var ledger: LedgerSpec?
    /// Whether readers were shown the sale's availability late (see ``StalenessReport``).
    var staleness: StalenessSpec?
    /// What customers were told, checked against the database (see ``CustomerHistoryReport``).
    var history: HistorySpec?
    var thresholds: [String]?
    /// Faults injected while the load runs (see ``FaultRunner``).
    var faults: [FaultRunner.Step]?

    /// A setup step: run the seeder, or load tokens.
    struct SetupStep: Codable, Sendable {
        /// Arguments for `happening-seed … --json` (run from the directory `happening-bench` lives in).
        var seed: String?
        /// Summary fields of the seeder's JSON to keep as variables: `{event_id: flash_sale_event.id}`.
        var set: [String: String]?
        /// A JSON Lines file of `{user_id, email, token}`: the virtual users, in order.
        var tokens: String?
    }

    /// Values drawn for `${name}` each time a request is rendered.
    struct Pool: Codable, Sendable {
        /// Fixed values.
        var values: [String]?
        /// A query whose first column gives the values (needs `--database-url`).
        var sql: String?
        /// A file with one value per line.
        var file: String?
        /// Zipf exponent for skewed popularity (0 or absent: uniform). The first values are the most popular.
        var zipf: Double?
    }

    /// A request template. `path`, `body` and header values may use `${…}`.
    struct RequestTemplate: Codable, Sendable {
        var name: String
        var method: String?
        var path: String
        var body: String?
        var headers: [String: String]?
        /// Relative weight in the mix (default 1).
        var weight: Double?
        /// `user`: send the virtual user's token as `Authorization: Bearer …`.
        var auth: RequestAuth?
        /// Expected statuses (default: any 2xx).
        var expect: [Int]?
        /// A JSON string field of the response to keep (e.g. `booking_id`), for the ledger check.
        var capture: String?

        /// The method sent: as written, else POST with a body and GET without.
        var resolvedMethod: String { method?.uppercased() ?? (body == nil ? "GET" : "POST") }

        /// Everything that may hold `${…}`: path, body and header values.
        var templatedText: String { path + (body ?? "") + (headers ?? [:]).values.joined() }

        /// The values of earlier phases it names (`${captured.<field>}`).
        var capturedNames: Set<String> { CapturedValues.names(in: templatedText) }
    }

    /// A phase of load.
    struct Phase: Codable, Sendable {
        var name: String
        /// `closed` (connections loop), `open` (constant arrival rate), `barrier` (each connection sends once,
        /// all at the same instant), `warmup` (one request per connection, not reported).
        var model: LoadModel
        var connections: Int
        /// Open model: requests per second; `a..b` ramps linearly from a to b over the phase.
        var rate: String?
        /// Phase length (`20s`, `500ms`, `2m`). Closed and open phases need it or `max_requests`.
        var duration: String?
        var max_requests: Int?
        /// Closed model: pause between a response and the next request on the connection.
        var think_time: String?
        /// Template names used in this phase (default: all).
        var requests: [String]?
        /// Counted in the report (default true; warm-up phases are not).
        var record: Bool?
        /// Starts only once every fault of the scenario has run (e.g. to measure recovery after a restart).
        var after_faults: Bool?
        /// Starts only once every booking accepted so far was told its outcome by the history's follow-up (customers
        /// who heard they won, then cancel or pay). Needs the history check.
        var after_outcomes: Bool?
        /// A slow phase's clients: `nothing` (idle connections) or `partial` (half a request head); default partial.
        var send: SlowSend? = nil
    }

    /// The flash-sale ledger check after the phases.
    package struct LedgerSpec: Codable, Sendable {
        /// The event whose tickets are checked (usually `${event_id}` from setup).
        var event: String
        /// Tickets per booking request, to compute the expected number held.
        var ticket_count: Int?
        /// How long to wait for every accepted booking to be decided (default 60 s).
        var decision_timeout: String?
        /// The templates whose 202 answers are accepted bookings (default: those with a `capture`, else every POST).
        var requests: [String]?
        /// Another implementation's tables (default: Happening's own schema).
        var schema: LedgerSchema?
        /// Or one query yielding the figures (`$1` = the event): see ``LedgerReader/sqlColumns``.
        var sql: String?

        /// Where the ledger's figures come from.
        package func source() throws -> LedgerSource {
            switch (schema, sql) {
            case (nil, nil): .mapped(.happening)
            case (let schema?, nil): .mapped(schema)
            case (nil, let sql?): .sql(sql)
            case (_?, _?): throw UsageError("ledger: give either schema or sql, not both")
            }
        }
    }

    /// The sale's history as customers saw it: checked by default for a ledger on Happening's own schema.
    struct HistorySpec: Codable, Sendable {
        /// The route a customer asks about a booking (`{id}`: the booking's id); default `/api/bookings/{id}`.
        var status: String?
        /// The JSON field of its answer that says the status (default `status`).
        var status_field: String?
        /// The route a customer lists their own bookings on (default `/api/bookings/my-bookings` for Happening's schema;
        /// none for another unless named): read `bound` after each outcome, for read your writes.
        var my_bookings: String?
        /// How late a shown value or a told outcome may be and still count as true (default 1s).
        var bound: String?
        /// The refusals that mean sold out: values of the mapped reason column, or of the status column where the
        /// mapping has no reason (default `sold_out`).
        var sold_out: [String]?
        /// false: no history check.
        var enabled: Bool?

        var boundMicros: Int64 { Int64((bound.flatMap(DurationText.parse) ?? .seconds(1)).seconds * 1_000_000) }
    }

    /// The history spec to check with, or nil: on by default for a ledger read from Happening's own schema (whose
    /// booking rows and status route it knows), off for other schemas unless asked for.
    var historySpec: HistorySpec? {
        guard let ledger, history?.enabled != false else { return nil }
        guard history != nil || (ledger.schema == nil && ledger.sql == nil) else { return nil }
        return history ?? HistorySpec()
    }

    /// The templates whose 202s the ledger counts as accepted bookings: `ledger.requests`, else the templates that
    /// capture an id, else every POST template.
    var acceptingTemplates: Set<String> {
        guard let ledger else { return Set(requests.filter { $0.capture != nil }.map(\.name)) }
        if let named = ledger.requests { return Set(named) }
        let capturing = requests.filter { $0.capture != nil }.map(\.name)
        return Set(capturing.isEmpty ? requests.filter { $0.resolvedMethod == "POST" }.map(\.name) : capturing)
    }

    /// Which answers carry the watched event's availability, and where to find it.
    struct StalenessSpec: Codable, Sendable {
        /// The event (usually `${event_id}` from setup).
        var event: String
        /// The integer field shown to readers (default `available_tickets`).
        var field: String?
        /// Request templates whose answers are read (default: every GET template).
        var requests: [String]?
    }

    /// The templates whose answers the staleness check reads.
    var watchedTemplates: Set<String> {
        guard staleness != nil || readsEveryEvent else { return [] }
        return Set(staleness?.requests ?? requests.filter { $0.resolvedMethod == "GET" }.map(\.name))
    }

    /// Whether the history reads tickets left of every event watched answers carry: on Happening's own schema, whose
    /// events and bookings tables it rebuilds each event's truth from.
    var readsEveryEvent: Bool { historySpec != nil && ledger?.schema == nil && ledger?.sql == nil }

    /// Loads and parses a scenario file with variable overrides.
    package static func load(path: String, overrides: [String: String], runDirectory: String) throws -> Scenario {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw UsageError("cannot read scenario file \(path)") }
        // First pass: read the variables block only.
        struct Head: Codable { var variables: [String: String]? }
        let head: Head
        // `${…}` outside the variables block is not YAML yet (in a flow mapping its braces are syntax): read a copy with
        // each one as a plain scalar.
        let placeholders = Dictionary(Template.names(in: text).map { ($0, "0") }, uniquingKeysWith: { first, _ in first })
        do { head = try YAMLDecoder().decode(Head.self, from: Template.substitute(text, placeholders, keepUnknown: true)) } catch {
            throw UsageError("\(path): \(Self.describe(error))")
        }
        var variables = head.variables ?? [:]
        for (key, value) in overrides { variables[key] = value }
        variables["run_dir"] = runDirectory
        let expanded = Template.substitute(text, variables, keepUnknown: true)
        do {
            var scenario = try YAMLDecoder().decode(Scenario.self, from: expanded)
            scenario.variables = variables
            try scenario.validate()
            return scenario
        } catch let error as UsageError {
            throw UsageError("\(path): \(error.description)")
        } catch {
            throw UsageError("\(path): \(Self.describe(error))")
        }
    }

    func validate() throws {
        try validateLanes()
        guard !requests.isEmpty else { throw UsageError("a scenario needs at least one request template") }
        let names = Set(requests.map(\.name))
        for phase in runLanes.flatMap(\.phases) {
            guard phase.connections >= 1, phase.connections <= 100_000 else { throw UsageError("phase \(phase.name): connections must be 1…100000") }
            if phase.model == .open {
                guard let rate = phase.rate, RateSpec(rate) != nil else {
                    throw UsageError("phase \(phase.name): an open phase needs rate: R or rate: A..B (requests/s)")
                }
            }
            if phase.model.isTimed {
                guard phase.duration != nil || phase.max_requests != nil else {
                    throw UsageError("phase \(phase.name): needs duration or max_requests (every run is bounded)")
                }
            }
            if phase.model == .slow, phase.duration == nil {
                throw UsageError("phase \(phase.name): a slow phase needs duration (how long its clients hold their connections)")
            }
            if phase.send != nil, phase.model != .slow { throw UsageError("phase \(phase.name): send: is for slow phases only") }
            for text in [phase.duration, phase.think_time].compactMap({ $0 }) where DurationText.parse(text) == nil {
                throw UsageError("phase \(phase.name): '\(text)' is not a duration (like 500ms, 20s, 2m)")
            }
            for name in phase.requests ?? [] where !names.contains(name) { throw UsageError("phase \(phase.name): no request template named \(name)") }
        }
        try validateCapturedValues()
        if !hasLanes, let first = phases?.first, first.after_faults == true {
            // Faults are timed from the start of the load, so the first phase cannot wait for them.
            throw UsageError("phase \(first.name): after_faults needs an earlier phase (faults count from the start of the load)")
        }
        try FaultRunner.validate(faults ?? [])
        for name in staleness?.requests ?? [] where !names.contains(name) { throw UsageError("staleness: no request template named \(name)") }
        if let ledger {
            _ = try ledger.source()
            for name in ledger.requests ?? [] where !names.contains(name) { throw UsageError("ledger: no request template named \(name)") }
            if acceptingTemplates.isEmpty { throw UsageError("ledger: no request template books (name them in ledger.requests)") }
        }
        for (name, pool) in pools ?? [:] where (pool.values ?? []).isEmpty && pool.sql == nil && pool.file == nil {
            throw UsageError("pool \(name): needs values, sql or file")
        }
    }

    /// `${captured.<field>}` is what the connection's user captured in an earlier phase of the lane: only a barrier
    /// phase (one request per user) after the lane's first may use it, and some template must capture the field.
    /// `after_outcomes` waits for the history's follow-up, so it needs the history and an earlier phase.
    private func validateCapturedValues() throws {
        let captured = Set(requests.compactMap(\.capture).map { CapturedValues.prefix + $0 })
        for template in requests {
            for name in template.capturedNames where !captured.contains(name) {
                throw UsageError("request \(template.name): ${\(name)} names no template's capture: field")
            }
        }
        for lane in runLanes {
            for (position, phase) in lane.phases.enumerated() {
                let names = Set(phase.requests ?? lane.requests ?? requests.map(\.name))
                let usesCaptured = requests.contains { names.contains($0.name) && !$0.capturedNames.isEmpty }
                if usesCaptured, phase.model != .barrier || position == 0 {
                    throw UsageError(
                        "phase \(phase.name): ${captured.…} is for a barrier phase after the lane's first (each user sends once, with what they captured)")
                }
                if phase.after_outcomes == true, position == 0 || historySpec == nil {
                    throw UsageError(
                        "phase \(phase.name): after_outcomes needs an earlier phase and the history check (a ledger on Happening's schema, or history:)")
                }
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? DecodingError {
            switch error {
            case .keyNotFound(let key, let context): return "missing '\(key.stringValue)' at \(path(context.codingPath))"
            case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
                return "\(context.debugDescription) at \(path(context.codingPath))"
            @unknown default: return "\(error)"
            }
        }
        return "\(error)"
    }

    /// `phases[2].model`: where in the file a decoding error is.
    private static func path(_ keys: [any CodingKey]) -> String {
        keys.reduce("") { path, key in
            if let index = key.intValue { return path + "[\(index)]" }
            return path.isEmpty ? key.stringValue : path + "." + key.stringValue
        }
    }
}
