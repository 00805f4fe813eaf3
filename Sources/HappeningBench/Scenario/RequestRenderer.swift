import Foundation
import HappeningCommandLine
import HappeningLoad
import HappeningPostgres
import HappeningSystem

/// Values for `${name}` drawn at render time: uniform, or Zipf-skewed so a few ids are hot.
struct ValuePool: Sendable {
    let values: [String]
    /// Zipf weights (1/rank^s), nil for uniform.
    private let weights: WeightedTable?

    init(values: [String], zipf: Double?) {
        self.values = values
        if let s = zipf, s > 0 {
            weights = WeightedTable(weights: (0..<values.count).map { 1 / pow(Double($0 + 1), s) })
        } else {
            weights = nil
        }
    }

    func draw(_ random: inout FastRandom) -> String {
        guard let weights else { return values[Int(random.next() % UInt64(values.count))] }
        return values[weights.pick(using: &random)]
    }

    /// Builds the scenario's pools, running `sql` pools against the database.
    static func load(_ specs: [String: Scenario.Pool], databaseURL: String?) async throws -> [String: ValuePool] {
        var pools: [String: ValuePool] = [:]
        for (name, spec) in specs {
            var values = spec.values ?? []
            if let file = spec.file {
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw UsageError("pool \(name): cannot read \(file)") }
                values += text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            if let sql = spec.sql {
                guard let databaseURL else { throw UsageError("pool \(name) reads the database: pass --database-url or set DATABASE_URL") }
                let client = PostgresClient(configuration: .init(url: databaseURL, poolSize: 1, applicationName: "happening-bench"))
                do {
                    values += try await client.query(sql).map { try $0.decode(0, as: String.self) }
                    await client.shutdown()
                } catch {
                    await client.shutdown()
                    throw UsageError("pool \(name): the query failed (\(error))")
                }
            }
            guard !values.isEmpty else { throw UsageError("pool \(name) has no values (is the database seeded? make seed)") }
            pools[name] = ValuePool(values: values, zipf: spec.zipf)
        }
        return pools
    }
}

/// Turns request templates into ``PreparedRequest``s: `${…}` filled from the variables, pools and the
/// virtual user; rendering happens before a phase starts, never on the hot path.
struct RequestRenderer: Sendable {
    let target: String
    let templates: [Scenario.RequestTemplate]
    let variables: [String: String]
    let pools: [String: ValuePool]
    let users: VirtualUsers
    /// Templates whose answers are kept for a moment and read for the watched event's availability.
    var watched: Set<String> = []
    /// Templates whose 202s are accepted bookings (the ledger's).
    var accepting: Set<String> = []

    var infos: [TemplateInfo] {
        templates.map {
            TemplateInfo(
                name: $0.name, weight: $0.weight ?? 1, expect: Set($0.expect ?? []), capture: $0.capture,
                watched: watched.contains($0.name), accepting: accepting.contains($0.name))
        }
    }

    /// Checks that every `${…}` a template uses has a source.
    func validate() throws {
        for template in templates {
            for name in Template.names(in: template.templatedText)
            where variables[name] == nil && pools[name] == nil && !Self.builtIns.contains(name) && !name.hasPrefix(CapturedValues.prefix) {
                throw UsageError("request \(template.name): ${\(name)} is neither a variable, a pool nor set by a setup step")
            }
            if template.auth == .user, users.isEmpty { throw UsageError("request \(template.name) needs users: add a `tokens:` setup step") }
        }
    }

    /// Names every template may use without declaring them: the virtual user's `user_id` and `user_email`, and
    /// `random`, twelve fresh lowercase letters per rendered request (text no cache has seen: cache busting, random
    /// search words).
    static let builtIns: Set<String> = ["user_id", "user_email", "random"]

    /// Template `index` rendered for `user` (an index into the virtual users), drawing pool values; `captured` holds
    /// what the user captured in earlier phases (``CapturedValues/values(of:)``).
    func render(_ index: Int, user: Int, random: inout FastRandom, captured: [String: String] = [:]) -> PreparedRequest {
        let template = templates[index]
        var values = variables.merging(captured) { _, new in new }
        let named = Template.names(in: template.templatedText)
        for name in named {
            if let pool = pools[name] { values[name] = pool.draw(&random) }
        }
        if named.contains("random") {
            values["random"] = String((0..<12).map { _ in Character(Unicode.Scalar(UInt8(97 + random.next() % 26))) })
        }
        let virtualUser = users.isEmpty ? nil : users[user]
        if let virtualUser {
            values["user_id"] = virtualUser.user_id
            values["user_email"] = virtualUser.email
        }
        var headers = (template.headers ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, Template.substitute($0.value, values, keepUnknown: true)) }
        if template.auth == .user, let virtualUser { headers.append(("Authorization", "Bearer \(virtualUser.token)")) }
        let body = template.body.map { Array(Template.substitute($0, values, keepUnknown: true).utf8) }
        if body != nil, !headers.contains(where: { $0.0.lowercased() == "content-type" }) { headers.append(("Content-Type", "application/json")) }
        return PreparedRequest(
            template: index, method: template.resolvedMethod,
            url: target + Template.substitute(template.path, values.mapValues(Self.percentEncoded), keepUnknown: true), headers: headers,
            body: body, capturesBody: template.capture != nil || watched.contains(template.name) || accepting.contains(template.name), tag: user)
    }

    /// A value made safe for a URL path or query (spaces, `&`, `=`, `+`, `#`, `?` … encoded).
    static func percentEncoded(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    /// `count` rendered instances of each template in `chosen` (a mix the picker draws from); a template that names
    /// its user gets at least one instance per user of `users` (nil: every user), in turn.
    func instances(of chosen: [Int], count: Int, seed: UInt64, users: Range<Int>? = nil) -> [[PreparedRequest]] {
        var random = FastRandom(seed: seed)
        let people = users ?? 0..<max(1, self.users.count)
        return chosen.map { index in
            let template = templates[index]
            let names = Template.names(in: template.templatedText)
            let perUser = template.auth == .user || names.contains("user_id") || names.contains("user_email")
            let varies = perUser || names.contains("random") || !names.filter { pools[$0] != nil }.isEmpty
            let total = varies ? (perUser ? max(count, people.count) : count) : 1
            return (0..<total).map { render(index, user: people.lowerBound + $0 % people.count, random: &random) }
        }
    }
}
