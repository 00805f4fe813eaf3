import Foundation
import Synchronization

/// The `Date` header's text (RFC 9110 IMF-fixdate, `Mon, 07 Dec 2026 00:52:25 GMT`), formatted once per second.
final class HTTPDateCache: Sendable {
    private let last = Mutex<(second: Int, text: String)>((-1, ""))

    /// The current second's text.
    func current() -> String {
        let now = Int(time(nil))
        if let text = last.withLock({ $0.second == now ? $0.text : nil }) { return text }
        let text = Self.format(now)
        last.withLock { $0 = (now, text) }
        return text
    }

    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func format(_ seconds: Int) -> String {
        var clock = time_t(seconds)
        var parts = tm()
        gmtime_r(&clock, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
