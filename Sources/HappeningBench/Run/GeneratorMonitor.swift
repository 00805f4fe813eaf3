import Foundation
import HappeningSystem
import Synchronization

/// Whether the Bench itself held a phase or window back: its CPU use, how late its loops woke, and how long they
/// waited for a CPU. On a small machine the server, the services and the Bench share the cores; a latency measured by a
/// starved generator is partly its own, and the report says so.
struct GeneratorCheck: Codable, Sendable, Equatable {
    /// CPUs the Bench may run on (its affinity mask).
    var cores_allowed: Int
    /// The Bench's CPU time per second as a share of `cores_allowed` (1 = every allowed core busy), mean and worst second.
    var cpu_mean: Double
    var cpu_max: Double
    /// How late the loops woke against what they were waiting for (the next arrival, a timer).
    var lag_p99_us: UInt64
    var lag_max_us: UInt64
    /// Loop wakes measured.
    var wakes: UInt64
    /// The share of time a loop thread was runnable but waited for a CPU (from `/proc/thread-self/schedstat`), mean.
    var runqueue_wait: Double
    /// Why the generator counts as the bottleneck here; empty when it was not.
    var reasons: [String]

    var saturated: Bool { !reasons.isEmpty }

    /// The limits: CPU ≥ 90 % of the allowed cores, wake lag p99 > 10 ms, loops waiting for a CPU ≥ 10 % of the time.
    static let cpuLimit = 0.9
    static let lagLimitMicros: UInt64 = 10_000
    static let runqueueLimit = 0.1
}

/// The Bench's own figures second by second (keyed by wall-clock second): CPU from `getrusage`, sampled on a thread of
/// its own; loop lag and run-queue wait handed over by each loop thread once per second.
final class GeneratorMonitor: Sendable {
    struct Second: Sendable {
        var cpu: Double?
        var lag = LatencyHistogram()
        var runqueueNanoseconds: UInt64 = 0
        var loopThreads = 0
    }

    let coresAllowed: Int
    private let seconds = Mutex<[Int64: Second]>([:])
    private let running = Atomic<Bool>(false)

    init(coresAllowed: Int = CPUAffinity.allowedCount() ?? ProcessInfo.processInfo.activeProcessorCount) {
        self.coresAllowed = max(1, coresAllowed)
    }

    /// One loop thread's second: its wake lags and how long it waited for a CPU.
    func add(wallSecond: Int64, lag: LatencyHistogram, runqueueNanoseconds: UInt64) {
        seconds.withLock {
            $0[wallSecond, default: Second()].lag.add(lag)
            $0[wallSecond, default: Second()].runqueueNanoseconds += runqueueNanoseconds
            $0[wallSecond, default: Second()].loopThreads += 1
        }
    }

    /// Starts sampling the process's CPU time once per wall-clock second, until ``stop()``.
    func start() {
        guard !running.exchange(true, ordering: .relaxed) else { return }
        let thread = Thread { [self] in sample() }
        thread.name = "happening-bench-monitor"
        thread.start()
    }

    func stop() { running.store(false, ordering: .relaxed) }

    private func sample() {
        var previous = (wall: Date().timeIntervalSince1970, cpu: ProcessCPU.seconds())
        while running.load(ordering: .relaxed) {
            // Wake just after the next wall-clock second begins, so each sample covers one second.
            let now = Date().timeIntervalSince1970
            Thread.sleep(forTimeInterval: max(0.05, (now.rounded(.down) + 1.002) - now))
            let current = (wall: Date().timeIntervalSince1970, cpu: ProcessCPU.seconds())
            let elapsed = current.wall - previous.wall
            if elapsed > 0.2 {
                let share = (current.cpu - previous.cpu) / elapsed / Double(coresAllowed)
                let second = Int64(previous.wall.rounded(.down))
                seconds.withLock { $0[second, default: Second()].cpu = share }
            }
            previous = current
        }
    }

    /// The calling thread's time spent waiting on a run queue so far (ns), or nil where the kernel does not say.
    static func threadRunqueueNanoseconds() -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/thread-self/schedstat", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        return fields.count >= 2 ? UInt64(fields[1].trimmingCharacters(in: .whitespacesAndNewlines)) : nil
    }

    /// The check over the wall-clock span [`fromMicros`, `toMicros`]: the seconds it touches. Nil when no second of it
    /// was measured.
    func check(fromMicros: Int64, toMicros: Int64) -> GeneratorCheck? {
        let (first, last) = (fromMicros / 1_000_000, max(fromMicros, toMicros) / 1_000_000)
        let chosen = seconds.withLock { all in (first...last).compactMap { all[$0] } }
        return Self.check(chosen, coresAllowed: coresAllowed)
    }

    /// The check over measured seconds (pure: tested with seconds constructed by hand).
    static func check(_ chosen: [Second], coresAllowed: Int) -> GeneratorCheck? {
        guard !chosen.isEmpty else { return nil }
        let cpu = chosen.compactMap(\.cpu)
        var lag = LatencyHistogram()
        for second in chosen { lag.add(second.lag) }
        let threadSeconds = chosen.reduce(0) { $0 + $1.loopThreads }
        let waited = chosen.reduce(UInt64(0)) { $0 + $1.runqueueNanoseconds }
        let summary = lag.summary
        var check = GeneratorCheck(
            cores_allowed: coresAllowed, cpu_mean: cpu.isEmpty ? 0 : cpu.reduce(0, +) / Double(cpu.count), cpu_max: cpu.max() ?? 0,
            lag_p99_us: summary.count > 0 ? summary.p99 : 0, lag_max_us: summary.count > 0 ? summary.max : 0, wakes: summary.count,
            runqueue_wait: threadSeconds == 0 ? 0 : Double(waited) / 1e9 / Double(threadSeconds), reasons: [])
        if check.cpu_mean >= GeneratorCheck.cpuLimit {
            check.reasons.append(String(format: "its CPU averaged %.0f%% of the %d core(s) it may use", check.cpu_mean * 100, coresAllowed))
        }
        if check.lag_p99_us > GeneratorCheck.lagLimitMicros {
            check.reasons.append("its loops woke late: lag p99 \(Format.micros(check.lag_p99_us)), max \(Format.micros(check.lag_max_us))")
        }
        if check.runqueue_wait >= GeneratorCheck.runqueueLimit {
            check.reasons.append(String(format: "its loops waited for a CPU %.0f%% of the time", check.runqueue_wait * 100))
        }
        return check
    }
}
