import Foundation
import HappeningCommandLine
import HappeningSystem
import Synchronization

/// Set when the user presses Ctrl-C: the batch being copied is aborted (nothing of it remains), committed
/// batches stay, and the run finishes its bookkeeping (indexes, summary) before exiting with status 130.
/// A second Ctrl-C exits at once.
final class Interruption: Sendable {
    private let flag = Atomic<Bool>(false)

    /// Thrown out of a COPY source to abort the batch.
    struct Interrupted: Error {}

    var isRequested: Bool { flag.load(ordering: .relaxed) }

    func request() {
        if flag.exchange(true, ordering: .relaxed) { _exit(130) }
    }

    func check() throws {
        if isRequested { throw Interrupted() }
    }
}

/// Shows how a load is going: a redrawn bar on a terminal (rows/s, ETA), a plain line every few seconds
/// otherwise (CI logs), or nothing.
final class ProgressReporter: Sendable {
    private struct Phase: Sendable {
        var name = ""
        var total = 0
        var started = ContinuousClock.now
    }

    let style: ProgressStyle
    private let done = Atomic<Int>(0)
    private let phase = Mutex(Phase())

    init(style: ProgressStyle) { self.style = style }

    /// Starts counting rows of `name` towards `total`.
    func begin(_ name: String, total: Int) {
        done.store(0, ordering: .relaxed)
        phase.withLock { $0 = Phase(name: name, total: total, started: .now) }
    }

    /// Counts one row (called from the COPY source, on the client's thread).
    func add(_ rows: Int = 1) { done.add(rows, ordering: .relaxed) }

    /// Ends the phase's display line.
    func end() {
        if style == .live { render(final: true) }
    }

    /// Redraws until the task is cancelled.
    func run() async {
        let interval: Duration = style == .live ? .milliseconds(200) : .seconds(5)
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { break }
            render(final: false)
        }
    }

    private func render(final: Bool) {
        guard style != .none else { return }
        let current = phase.withLock { $0 }
        guard !current.name.isEmpty, current.total > 0 else { return }
        let rows = min(done.load(ordering: .relaxed), current.total)
        let elapsed = max(0.001, (ContinuousClock.now - current.started).seconds)
        let rate = Double(rows) / elapsed
        let fraction = Double(rows) / Double(current.total)
        let eta = rate > 0 ? Double(current.total - rows) / rate : 0
        let figures = "\(rows.grouped)/\(current.total.grouped) rows  \(Int(rate).grouped) rows/s  ETA \(String(format: "%.0f", eta)) s"
        switch style {
        case .live:
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let line =
                "\r\(current.name.padding(toLength: 18, withPad: " ", startingAt: 0)) \(bar) \(String(format: "%3.0f", fraction * 100))%  \(figures)\u{1B}[K"
            FileHandle.standardError.write(Data((line + (final ? "\n" : "")).utf8))
        case .lines:
            if !final { FileHandle.standardError.write(Data("seed: \(current.name): \(figures)\n".utf8)) }
        case .none:
            break
        }
    }
}

extension Int {
    /// `1234567` → `1,234,567`.
    var grouped: String {
        let digits = String(self.magnitude)
        var out = ""
        for (offset, character) in digits.enumerated() {
            if offset > 0, (digits.count - offset) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (self < 0 ? "-" : "") + out
    }
}
