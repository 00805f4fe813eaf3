import Foundation
import Synchronization

/// The Bench's resident memory while a phase runs, for its cost per open connection (k6's most visible complaint is
/// memory per virtual user): the resident set just before the phase's loops are made, its peak while they run
/// (sampled every 20 ms, and for a barrier also at the firing instant, when every connection is open).
final class MemoryWatch: Sendable {
    let before: UInt64
    private let peak: Atomic<UInt64>

    init() {
        before = Self.residentBytes()
        peak = Atomic(before)
    }

    /// Takes a reading now (called from the sampler and from a barrier's firing).
    func sample() { peak.max(Self.residentBytes()) }

    /// Samples every 20 ms until cancelled.
    func run() async {
        while !Task.isCancelled {
            sample()
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The phase's figures for `connections` open connections.
    func report(connections: Int) -> MemoryReport {
        sample()
        let peak = peak.load(ordering: .relaxed)
        let connections = max(1, connections)
        return MemoryReport(
            rss_before_bytes: before, rss_peak_bytes: peak, connections: connections,
            peak_per_connection_bytes: peak / UInt64(connections), added_per_connection_bytes: (peak &- min(peak, before)) / UInt64(connections))
    }

    /// This process's resident set (`/proc/self/statm`'s second field × the page size); 0 where it cannot be read.
    static func residentBytes() -> UInt64 {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = UInt64(fields[1]) else { return 0 }
        return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }
}

extension Atomic where Value == UInt64 {
    /// Raises the value to `candidate` if it is larger.
    fileprivate func max(_ candidate: UInt64) {
        var current = load(ordering: .relaxed)
        while candidate > current {
            let (exchanged, original) = compareExchange(expected: current, desired: candidate, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}

/// A phase's memory figures (bytes): the resident set before and at its peak, and per open connection both the whole
/// peak (everything the process holds, shared parts included) and what the phase added.
struct MemoryReport: Codable, Sendable, Equatable {
    var rss_before_bytes: UInt64
    var rss_peak_bytes: UInt64
    var connections: Int
    var peak_per_connection_bytes: UInt64
    var added_per_connection_bytes: UInt64
}
