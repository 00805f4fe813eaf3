import Foundation
import HappeningLoad
import HappeningSystem

/// Number and latency formatting shared by the display and the reports.
package enum Format {
    package static func grouped<T: BinaryInteger>(_ value: T) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (offset, character) in digits.enumerated() {
            if offset > 0, (digits.count - offset) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (value < 0 ? "-" : "") + out
    }

    /// `850µs`, `12.3ms`, `1.52s`.
    static func micros(_ value: UInt64) -> String {
        if value < 1_000 { return "\(value)µs" }
        if value < 1_000_000 { return String(format: "%.2fms", Double(value) / 1_000) }
        return String(format: "%.2fs", Double(value) / 1_000_000)
    }

    static func percent(_ value: Double) -> String { String(format: "%.2f%%", value * 100) }

    /// `812 B`, `14.2 KiB`, `1.50 MiB`.
    static func bytes(_ value: UInt64) -> String {
        if value < 1_024 { return "\(value) B" }
        if value < 1_048_576 { return String(format: "%.1f KiB", Double(value) / 1_024) }
        return String(format: "%.2f MiB", Double(value) / 1_048_576)
    }
}
