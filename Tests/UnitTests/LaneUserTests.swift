import Foundation
import HappeningCommandLine
import HappeningSystem
import Testing

@testable import HappeningBench

/// Each lane's own virtual users: disjoint ranges of the token file, and rendered requests that cover them.
@Suite("Bench: lanes have users of their own", .timeLimit(.minutes(10)))
struct LaneUserTests {
    static func scenario(browse: Int?, sale: Int?) -> Scenario {
        let open = Scenario.Phase(name: "steady", model: .open, connections: 4, rate: "100", duration: "1s")
        let barrier = Scenario.Phase(name: "rush", model: .barrier, connections: 3)
        return Scenario(
            name: "users", requests: [.init(name: "look", path: "/x", auth: .user)],
            lanes: [.init(name: "browse", users: browse, phases: [open]), .init(name: "sale", users: sale, phases: [barrier])])
    }

    @Test("lanes that say how many users they have get disjoint consecutive ranges; the others every user")
    func ranges() throws {
        #expect(try Self.scenario(browse: 10, sale: 5).laneUsers(available: 15) == [0..<10, 10..<15])
        #expect(try Self.scenario(browse: nil, sale: 5).laneUsers(available: 15) == [nil, 0..<5])
        #expect(throws: UsageError.self) { try Self.scenario(browse: 10, sale: 5).laneUsers(available: 14) }
        #expect(throws: UsageError.self) { try Self.scenario(browse: 10, sale: 2).validateLanes() }  // 3 barrier users, 2 in the lane
    }

    @Test("a per-user template is rendered once per user of the lane's range, and only with those users' tokens")
    func instancesCoverTheRange() {
        let users = (0..<30).map { VirtualUser(user_id: "u\($0)", email: "u\($0)@x", token: "t\($0)") }
        let renderer = RequestRenderer(
            target: "http://127.0.0.1:1", templates: [.init(name: "look", path: "/x", auth: .user)],
            variables: [:], pools: [:], users: VirtualUsers(users))
        let instances = renderer.instances(of: [0], count: 4, seed: 1, users: 10..<30)[0]
        #expect(instances.count == 20)
        let tokens = Set(instances.map(\.tag))
        #expect(tokens == Set(10..<30))
    }
}
