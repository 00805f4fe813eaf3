import Foundation
import HappeningSystem
import Yams

/// `20s`, `500ms`, `2m`, `1.5s`.
package enum DurationText {
    package static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        for (suffix, scale) in [("ms", 0.001), ("us", 0.000_001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)] where trimmed.hasSuffix(suffix) {
            guard let number = Double(trimmed.dropLast(suffix.count)), number >= 0, number <= 86_400 / scale else { return nil }
            return .nanoseconds(Int64(number * scale * 1e9))
        }
        return nil
    }
}
