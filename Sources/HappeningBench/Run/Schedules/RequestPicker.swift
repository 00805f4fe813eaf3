import HappeningLoad
import HappeningSystem
import Synchronization

/// Picks what to send from pre-rendered requests: a template by weight, then one of its instances.
struct RequestPicker {
    let instances: [[PreparedRequest]]
    private let weights: WeightedTable
    private var random: FastRandom

    init(instances: [[PreparedRequest]], weights: [Double], seed: UInt64) {
        self.instances = instances
        self.weights = WeightedTable(weights: weights)
        random = FastRandom(seed: seed)
    }

    mutating func next() -> PreparedRequest {
        let choices = instances[weights.pick(using: &random)]
        return choices[Int(random.next() % UInt64(choices.count))]
    }
}
