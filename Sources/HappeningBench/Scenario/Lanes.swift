import Foundation
import HappeningCommandLine
import HappeningSystem

extension Scenario {
    /// A lane: a sequence of phases with its own request mix, started `start` after the run begins. All lanes of a
    /// scenario run at once, on one run clock; faults and thresholds see the whole run.
    struct Lane: Codable, Sendable {
        var name: String
        /// Offset from the start of the run (`10s`); default 0.
        var start: String?
        /// The request templates this lane sends (default: all); a phase's own `requests` narrows it further.
        var requests: [String]?
        /// How many virtual users this lane has: lanes that say so get their own consecutive users from the token
        /// file, in the order the lanes are declared, so no two lanes share one. A lane without it uses every user.
        var users: Int?
        var phases: [Phase]
    }

    /// What runs: the `lanes`, or the top-level `phases` as one unnamed lane.
    var runLanes: [Lane] { lanes ?? [Lane(name: "", start: nil, requests: nil, users: nil, phases: phases ?? [])] }

    /// Each lane's virtual users (indices into the loaded users): the lanes with `users:` take disjoint consecutive
    /// ranges in declaration order; the others get nil (every user). Throws when there are not enough users.
    func laneUsers(available: Int) throws -> [Range<Int>?] {
        var next = 0
        return try runLanes.map { lane in
            guard let count = lane.users else { return nil }
            guard next + count <= available else {
                throw UsageError("lane \(lane.name): needs users \(next)…\(next + count - 1), but the token file has \(available) users")
            }
            defer { next += count }
            return next..<(next + count)
        }
    }

    /// Whether the scenario names its lanes (then every lane and window is reported on its own).
    var hasLanes: Bool { lanes != nil }

    /// Lane rules: a lane needs a name and a phase, a start that parses, known templates; no name (lane or phase)
    /// twice, since `lane@phase` names a window.
    func validateLanes() throws {
        guard let lanes else {
            guard let phases, !phases.isEmpty else { throw UsageError("a scenario needs at least one phase (or lanes: with phases)") }
            return
        }
        guard phases == nil else { throw UsageError("a scenario has either phases or lanes, not both") }
        guard !lanes.isEmpty else { throw UsageError("lanes: needs at least one lane") }
        let templates = Set(requests.map(\.name))
        var names = Set<String>()
        for lane in lanes {
            guard !lane.name.isEmpty, !lane.name.contains("@"), !lane.name.contains(".") else {
                throw UsageError("lane '\(lane.name)': a lane needs a name without '@' or '.'")
            }
            guard !lane.phases.isEmpty else { throw UsageError("lane \(lane.name): needs at least one phase") }
            if let users = lane.users {
                guard users >= 1 else { throw UsageError("lane \(lane.name): users must be at least 1") }
                for phase in lane.phases where phase.model == .barrier && phase.connections > users {
                    throw UsageError("lane \(lane.name): phase \(phase.name) has \(phase.connections) barrier users but the lane has \(users)")
                }
            }
            if let start = lane.start, DurationText.parse(start) == nil {
                throw UsageError("lane \(lane.name): start '\(start)' is not a duration (like 500ms, 10s)")
            }
            for name in lane.requests ?? [] where !templates.contains(name) {
                throw UsageError("lane \(lane.name): no request template named \(name)")
            }
            for name in [lane.name] + lane.phases.map(\.name) {
                guard names.insert(name).inserted else { throw UsageError("the name '\(name)' is used twice (lanes and phases need their own names)") }
            }
        }
    }
}
