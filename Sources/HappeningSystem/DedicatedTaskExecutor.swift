import Foundation
import ServiceLifecycle

/// A task executor with threads of its own: work run under `withTaskExecutorPreference(executor)` (and every
/// resumption after its awaits) queues here instead of on Swift's shared concurrency pool.
///
/// The point is isolation, not speed. A flood of one kind of request (a flash sale's 5,000 bookings at one
/// instant) puts thousands of jobs on the shared pool's queue; a cheap request of another kind (a homepage
/// read) then waits behind all of them. With the flood's jobs on threads of their own, the kernel shares the
/// cores between both kinds instead, and `niceness` (a positive `nice` value for these threads only) tells it
/// which kind yields when both want a core.
///
/// As a ``Service``: the threads run from ``run()`` until graceful shutdown (or cancellation), after the queue
/// drains. A job enqueued while no thread runs (before ``run()``, after shutdown) goes to the shared pool, so
/// nothing preferring this executor ever waits for a thread that is not there.
///
/// `@unchecked Sendable` is safe: every mutable field is read and written only while holding `condition`'s
/// lock, and a queued `UnownedJob` is run exactly once, by the one thread that dequeued it.
public final class DedicatedTaskExecutor: TaskExecutor, Service, @unchecked Sendable {
    private enum Phase { case idle, running, stopping, stopped }

    private let name: String
    private let threadCount: Int
    private let niceness: Int32
    private let condition = NSCondition()
    private var phase = Phase.idle
    private var jobs: [UnownedJob] = []
    private var head = 0
    private var runningThreads = 0
    private var allStopped: [CheckedContinuation<Void, Never>] = []

    /// - Parameters:
    ///   - name: the threads' name (`name-0`, `name-1` …), as `top -H` and `perf` show them.
    ///   - threads: how many threads run the queued jobs (at least 1).
    ///   - niceness: added to the threads' `nice` value (0 to 19; 0 = the same weight as every other thread).
    public init(name: String, threads: Int, niceness: Int32 = 0) {
        self.name = name
        self.threadCount = max(1, threads)
        self.niceness = min(max(niceness, 0), 19)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if !queue(job) { globalConcurrentExecutor.enqueue(job) }
    }

    /// Queues `job` for the threads; false when none runs.
    private func queue(_ job: UnownedJob) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard phase == .running else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// Starts the threads and keeps them until graceful shutdown or cancellation; returns once they stopped.
    public func run() async throws {
        guard start() else { return }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withCheckedContinuation { self.whenStopped($0) }
            } onCancel: {
                self.stop()
            }
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// Starts the threads once; false if they were started before.
    private func start() -> Bool {
        condition.lock()
        guard phase == .idle else {
            condition.unlock()
            return false
        }
        phase = .running
        runningThreads = threadCount
        condition.unlock()
        for index in 0..<threadCount {
            let thread = Thread { [self] in work(named: "\(name)-\(index)") }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
        return true
    }

    private func whenStopped(_ done: CheckedContinuation<Void, Never>) {
        condition.lock()
        defer { condition.unlock() }
        if phase == .stopped { done.resume() } else { allStopped.append(done) }
    }

    /// Asks the threads to finish the queued jobs and end; later jobs go to the shared pool.
    private func stop() {
        condition.lock()
        if phase == .running { phase = .stopping }
        condition.broadcast()
        condition.unlock()
    }

    private func work(named threadName: String) {
        // The kernel's name of this thread, as `top -H`, `perf` and /proc show it (Foundation's `Thread.name`
        // names only the Foundation object on Linux). A thread may rename itself through /proc; at most 15 bytes.
        try? String(threadName.utf8.prefix(15))?.write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
        if niceness > 0 {
            // Per thread on Linux: PRIO_PROCESS with `who` 0 changes the calling thread alone (nice values are
            // per thread there). Raising one's own nice value needs no privilege; if it fails anyway, the threads
            // run at the usual weight.
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
        }
        while let job = next() {
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }

    /// The next job, waiting for one; nil once stopping and the queue is empty (the last thread out resumes
    /// ``run()``).
    private func next() -> UnownedJob? {
        condition.lock()
        defer { condition.unlock() }
        while head == jobs.count, phase == .running { condition.wait() }
        guard head < jobs.count else {
            runningThreads -= 1
            if runningThreads == 0 {
                phase = .stopped
                for waiter in allStopped { waiter.resume() }
                allStopped = []
            }
            return nil
        }
        let job = jobs[head]
        head += 1
        if head == jobs.count {
            jobs.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 4_096 {
            jobs.removeFirst(head)
            head = 0
        }
        return job
    }
}
