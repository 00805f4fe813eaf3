import Foundation
import HappeningCommandLine

/// What wrk prints with `--latency`: its totals, its latency distribution and the answers it counts as errors.
package struct WrkOutput: Sendable, Equatable {
    var requests: UInt64
    var requestsPerSecond: Double
    var p50Milliseconds: Double
    var p99Milliseconds: Double
    /// The threads' mean latency (`Thread Stats … Latency`).
    var meanMilliseconds: Double
    /// `Non-2xx or 3xx responses`.
    var non2xx: UInt64
    /// `Socket errors: connect C, read R, write W, timeout T`, added up.
    var socketErrors: UInt64

    /// The figures of `text`; nil when a figure is missing (wrk failed).
    package init?(parsing text: String) {
        guard let requests = text.firstMatch(of: /(\d+) requests in/).flatMap({ UInt64($0.1) }),
            let rate = text.firstMatch(of: /Requests\/sec:\s+([\d.]+)/).flatMap({ Double($0.1) }),
            let p50 = text.firstMatch(of: /\s50%\s+(\S+)/).flatMap({ ToolOutputs.milliseconds($0.1) }),
            let p99 = text.firstMatch(of: /\s99%\s+(\S+)/).flatMap({ ToolOutputs.milliseconds($0.1) }),
            let mean = text.firstMatch(of: /Latency\s+(\S+)/).flatMap({ ToolOutputs.milliseconds($0.1) })
        else { return nil }
        (self.requests, requestsPerSecond, p50Milliseconds, p99Milliseconds, meanMilliseconds) = (requests, rate, p50, p99, mean)
        non2xx = text.matches(of: /Non-2xx or 3xx responses: (\d+)/).reduce(0) { $0 + (UInt64($1.1) ?? 0) }
        socketErrors = text.matches(of: /(?:connect|read|write|timeout) (\d+)/).reduce(0) { $0 + (UInt64($1.1) ?? 0) }
    }
}

/// What h2load prints at the end of a run: the requests that succeeded and failed, req/s, the mean request time.
package struct H2LoadOutput: Sendable, Equatable {
    var succeeded: UInt64
    var failed: UInt64
    var requestsPerSecond: Double
    var meanMilliseconds: Double

    /// The figures of `text`; nil when a figure is missing (h2load failed).
    package init?(parsing text: String) {
        guard let counts = text.firstMatch(of: /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed/),
            let succeeded = UInt64(counts.3), let failed = UInt64(counts.4),
            let rate = text.firstMatch(of: /finished in [\d.]+s, ([\d.]+) req\/s/).flatMap({ Double($0.1) }),
            // min, max, mean, sd, ±sd: the third.
            let mean = text.firstMatch(of: /time for request:\s+\S+\s+\S+\s+(\S+)/).flatMap({ ToolOutputs.milliseconds($0.1) })
        else { return nil }
        (self.succeeded, self.failed, requestsPerSecond, meanMilliseconds) = (succeeded, failed, rate, mean)
    }
}

/// Reading the other tools' figures.
package enum ToolOutputs {
    /// `812.00us`, `1.20ms`, `2.10s`, `1.05m` (as wrk and h2load print a duration) in milliseconds; nil otherwise.
    package static func milliseconds<S: StringProtocol>(_ text: S) -> Double? {
        guard let match = String(text).wholeMatch(of: /([\d.]+)(us|ms|s|m)/), let value = Double(match.1) else { return nil }
        let unit: Double =
            switch match.2 {
            case "us": 0.001
            case "ms": 1
            case "s": 1_000
            default: 60_000
            }
        return value * unit
    }

    /// User + system seconds from `/usr/bin/time -f "%U %S"`: the last two words (the tool may write a line before them).
    package static func cpuSeconds(time text: String) -> Double? {
        let words = text.split(whereSeparator: \.isWhitespace)
        guard words.count >= 2, let user = Double(words[words.count - 2]), let system = Double(words[words.count - 1]) else { return nil }
        return user + system
    }

    /// Seconds of CPU from compare-nginx.sh's `BEFORE AFTER HZ` (utime + stime ticks of `/proc/<pid>/stat`, clock ticks
    /// per second).
    package static func cpuSeconds(ticks text: String) -> Double? {
        let numbers = text.split(whereSeparator: \.isWhitespace).compactMap { Int64($0) }
        guard numbers.count == 3, numbers[2] > 0 else { return nil }
        return Double(numbers[1] - numbers[0]) / Double(numbers[2])
    }

    /// `/usr/bin/time`'s CPU seconds in `path`, or a usage error naming it.
    static func cpuSeconds(timeFile path: String) throws -> Double {
        guard let seconds = cpuSeconds(time: try SummaryFiles.text(path)) else { throw UsageError("\(path): no \"USER SYSTEM\" seconds") }
        return seconds
    }

    /// wrk's report in `path`, or a usage error naming it.
    static func wrk(_ path: String) throws -> WrkOutput {
        guard let output = WrkOutput(parsing: try SummaryFiles.text(path)) else { throw UsageError("\(path): not a wrk --latency report") }
        return output
    }
}
