import Foundation
import HappeningSystem
import Yams

/// `2000` or `500..3000` requests per second.
package struct RateSpec: Sendable, Equatable {
    var from: Double
    var to: Double

    package init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: true).map { Double($0.trimmingCharacters(in: .whitespaces)) }
        if text.contains(".."), parts.count == 2, let a = parts[0], let b = parts[1], a > 0, b > 0 {
            (from, to) = (a, b)
        } else if let value = Double(text.trimmingCharacters(in: .whitespaces)), value > 0 {
            (from, to) = (value, value)
        } else {
            return nil
        }
    }

    init(from: Double, to: Double) { (self.from, self.to) = (from, to) }
}
