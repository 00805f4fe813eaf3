import Foundation
import HappeningCommandLine
import HappeningLoad
import HappeningSystem

/// Prints a phase's progress: elapsed time, requests per second and p99 of the last whole second, errors.
struct LiveDisplay: Sendable {
    let phase: String
    let feed: LiveFeed
    let clock: PhaseClock
    let style: ProgressStyle

    func run() async {
        guard style != .none else { return }
        let interval: Duration = style == .live ? .seconds(1) : .seconds(5)
        var printedLive = false
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { break }
            let now = monotonicNanoseconds()
            guard now > clock.monotonicStart else { continue }
            let elapsed = Double(now - clock.monotonicStart) / 1e9
            let last = feed.bucket(Int(elapsed) - 1)
            let p99 = last.map { Format.micros($0.latency.percentile(99)) } ?? "–"
            let line = String(
                format: "%@ %6.1fs  %@ req/s  %@ requests  %@ errors  p99 %@", phase, elapsed,
                Format.grouped(last?.requests ?? 0), Format.grouped(feed.requestsSoFar), Format.grouped(feed.errorsSoFar), p99)
            if style == .live {
                FileHandle.standardError.write(Data(("\r" + line + "\u{1B}[K").utf8))
                printedLive = true
            } else {
                FileHandle.standardError.write(Data(("bench: " + line + "\n").utf8))
            }
        }
        if printedLive { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
