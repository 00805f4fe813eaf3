import Foundation
import HappeningSystem
import Synchronization

/// Stops a gate's processes exactly once: at the end, or on SIGTERM, or on Ctrl-C before the run began (once it
/// runs, the first Ctrl-C ends the run early and the gate stops the tier on its way out).
///
/// `@unchecked Sendable`: `sources` is set once in `init` and only kept alive afterwards (dispatch sources are
/// thread-safe); everything that changes is behind the mutex.
package final class TierGuardian: @unchecked Sendable {
    private let tier: ProcessTier
    private let state = Mutex((running: false, stopped: false))
    private let sources: [any DispatchSourceSignal]

    package init(tier: ProcessTier) {
        self.tier = tier
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        sources = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0) }
        for (source, number) in zip(sources, [SIGTERM, SIGINT]) {
            source.setEventHandler { [self] in
                if number == SIGINT, state.withLock({ $0.running }) { return }
                finish()
                _exit(128 + number)
            }
            source.resume()
        }
    }

    /// The scenario runs: Ctrl-C is the run's now.
    package func runStarted() { state.withLock { $0.running = true } }

    /// Stops the tier (once).
    package func finish() {
        let first = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return !state.stopped
        }
        if first { tier.stop() }
    }
}
