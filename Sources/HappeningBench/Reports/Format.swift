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

/// The scripts' summaries (`happening-bench report`): the figures as the Python renderers printed them, so the files in
/// results/ read the same whoever made them.
extension Format {
    /// `12,346` (`decimals` 0) or `1,234.6`: grouped thousands, `decimals` places.
    package static func grouped(_ value: Double, decimals: Int) -> String {
        let fixed = String(format: "%.\(decimals)f", value)
        let negative = fixed.hasPrefix("-")
        let parts = fixed.dropFirst(negative ? 1 : 0).split(separator: ".", maxSplits: 1)
        guard let whole = UInt64(parts[0]) else { return fixed }
        return (negative ? "-" : "") + grouped(whole) + (parts.count > 1 ? "." + parts[1] : "")
    }

    /// `12.3 ms` below a second, `1.52 s` from one up.
    package static func milliseconds(micros: UInt64) -> String {
        micros < 1_000_000 ? String(format: "%.1f ms", Double(micros) / 1_000) : String(format: "%.2f s", Double(micros) / 1_000_000)
    }

    /// `97%`: a share as a whole percentage.
    package static func wholePercent(_ share: Double) -> String { String(format: "%.0f%%", share * 100) }

    /// `value` rounded to `places` decimals the way printf rounds (the exact binary value, ties to even), so a figure
    /// rounds the same as in the files written before.
    package static func rounded(_ value: Double, places: Int) -> Double {
        Double(String(format: "%.\(places)f", value)) ?? value
    }

    /// A figure read from a result file as that file shows it: `344` for a whole number, `344.5` otherwise.
    package static func plain(_ value: Double) -> String {
        value == value.rounded() && value.magnitude < 1e15 ? String(Int64(value)) : "\(value)"
    }
}
