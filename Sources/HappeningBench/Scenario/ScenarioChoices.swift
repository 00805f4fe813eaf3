/// A closed set of words one key of a scenario file may hold. Decoding anything else fails with the choices listed
/// (`'sideways' is not one of closed, open, barrier, warmup, slow at phases.0.model`).
protocol ScenarioChoice: RawRepresentable<String>, CaseIterable, Codable, Sendable {}

extension ScenarioChoice {
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Self(rawValue: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not one of \(Self.choices)")
        }
        self = value
    }

    /// The words accepted, in declaration order: `closed, open, barrier, warmup, slow`.
    static var choices: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// How a phase makes load.
enum LoadModel: String, ScenarioChoice {
    /// Each connection sends its next request when the previous answer (and the think time) is over.
    case closed
    /// Requests start at a constant (or ramped) arrival rate, whatever the answers take.
    case open
    /// Each connection sends one request, all at the same instant (connection i is virtual user i).
    case barrier
    /// One request per connection to open them, not reported.
    case warmup
    /// Slow clients: each connection opens and then sends nothing, or half a request (`send:`), for the phase's
    /// duration; what is measured is whether and when the target closes them (``SlowClients``).
    case slow

    /// Closed and open phases run for a duration or a request count; barrier and warm-up send once per connection;
    /// slow ones hold their connections for a duration and send no whole request.
    var isTimed: Bool { self == .closed || self == .open }
}

/// What a slow client sends once connected.
enum SlowSend: String, ScenarioChoice {
    /// Nothing: an idle connection.
    case nothing
    /// The first part of its request's head (the request line and some headers, never the blank line that ends it).
    case partial
}

/// Whose credentials a request template sends.
enum RequestAuth: String, ScenarioChoice {
    /// The virtual user's token, as `Authorization: Bearer …` (needs a `tokens:` setup step).
    case user
}

/// A fault a scenario injects while the load runs (see ``FaultRunner``).
enum FaultAction: String, ScenarioChoice {
    case stopCache = "stop-cache"
    case startCache = "start-cache"
    case stopBroker = "stop-broker"
    case startBroker = "start-broker"
    case restartDatabase = "restart-db"
    case killWorker = "kill-worker"
}
