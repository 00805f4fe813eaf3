import CCurl
import Foundation
import HappeningSystem

/// The idle connections of a load loop and the scan that asks the schedule what each should do — the same
/// for both engines. Used on the loop's thread only.
struct IdleConnections {
    private(set) var indices: [Int]
    private var scanning: [Int] = []

    init(count: Int) {
        indices = Array(0..<count)
        scanning.reserveCapacity(count)
    }

    var isEmpty: Bool { indices.isEmpty }
    var count: Int { indices.count }

    /// A connection became idle again.
    mutating func append(_ index: Int) { indices.append(index) }

    /// Forgets every idle connection (a stop); returns how many there were.
    mutating func removeAll() -> Int {
        defer { indices.removeAll(keepingCapacity: true) }
        return indices.count
    }

    /// Requests started in one scan before the loop yields its core (`sched_yield`). A barrier's burst of 10,000
    /// requests takes tens of milliseconds of CPU (~12 µs a request over a veth, the receiver's softirq included); other processes due at the same instant on the same cores (shards
    /// of a fleet sharing a node) would otherwise wait a scheduler slice or more before they fire their first
    /// request, and the fleet's start skew with them. Alone on its cores the call returns at once.
    static let burstBeforeYield = 32

    /// Asks the schedule about every idle connection. `start` sends a request and returns false when the
    /// connection could not take it (its failure already reported): it is idle again. Returns the earliest time
    /// something is due (at most `now` + 10 ms) and how many connections are done.
    mutating func scan(
        schedule: any LoadSchedule, now: UInt64,
        start: (_ connection: Int, _ request: PreparedRequest, _ intendedStart: UInt64) throws -> Bool
    ) rethrows -> (wake: UInt64, done: Int, started: Int) {
        var wake = now &+ 10_000_000
        var done = 0
        var started = 0
        swap(&indices, &scanning)
        var position = 0
        scan: while position < scanning.count {
            let index = scanning[position]
            position += 1
            switch schedule.next(connection: index, now: now) {
            case .send(let request, let intended):
                if try start(index, request, intended) {
                    started += 1
                    if started % Self.burstBeforeYield == 0 { sched_yield() }
                } else {
                    indices.append(index)
                }
            case .notYet(let until):
                indices.append(index)
                wake = min(wake, until)
            case .pause(let until):
                indices.append(contentsOf: scanning[(position - 1)...])
                wake = min(wake, until)
                break scan
            case .done:
                done += 1
            }
        }
        scanning.removeAll(keepingCapacity: true)
        return (wake, done, started)
    }
}

/// The bookkeeping both engines share, one per loop and used on its thread only: the idle connections, how many
/// transfers are in flight and how many connections are done, the schedule's tick (at most once a millisecond), and
/// when the loop ends — every connection done and drained, or stopped and the drain time over (what is still in
/// flight then is counted as abandoned).
struct LoopProgress {
    private(set) var statistics = LoopStatistics()
    private var idle: IdleConnections
    private(set) var inFlight = 0
    private var finished = 0
    private var drainDeadline: UInt64?
    private var lastTick: UInt64 = 0
    private let connections: Int
    private let drainTimeout: UInt64

    init(connections: Int, drainTimeout: Duration) {
        idle = IdleConnections(count: connections)
        self.connections = connections
        self.drainTimeout = UInt64(drainTimeout.nanoseconds)
    }

    var hasIdle: Bool { !idle.isEmpty }

    /// Counts the iteration and ticks the schedule when a millisecond has passed since the last tick.
    mutating func iterate(now: UInt64, schedule: any LoadSchedule) {
        statistics.iterations += 1
        if now &- lastTick >= 1_000_000 {
            schedule.tick(now: now)
            lastTick = now
        }
    }

    /// Asks the schedule what each idle connection sends (nothing once stopped: they are all done). `start` sends
    /// the request and returns false when the connection could not take it (its failure already reported): it stays
    /// idle. Returns the earliest time something is due (at most `now` + 10 ms).
    mutating func startIdle(
        now: UInt64, stopped: Bool, schedule: any LoadSchedule,
        start: (_ connection: Int, _ request: PreparedRequest, _ intendedStart: UInt64) throws -> Bool
    ) rethrows -> UInt64 {
        if stopped {
            finished += idle.removeAll()
            return now &+ 10_000_000
        }
        guard !idle.isEmpty else { return now &+ 10_000_000 }
        let scan = try idle.scan(schedule: schedule, now: now, start: start)
        finished += scan.done
        inFlight += scan.started
        return scan.wake
    }

    /// A transfer on `connection` ended; it is idle again unless `requeue` is false (it is being reopened or
    /// was never handed a request).
    mutating func ended(connection: Int, requeue: Bool = true) {
        inFlight -= 1
        if requeue { idle.append(connection) }
    }

    /// Whether the loop is over at `now`.
    mutating func isOver(now: UInt64, stopped: Bool) -> Bool {
        if finished >= connections {
            if inFlight == 0 { return true }
            if drainDeadline == nil { drainDeadline = now &+ drainTimeout }
        }
        if stopped, inFlight > 0, drainDeadline == nil { drainDeadline = now }
        guard let deadline = drainDeadline, now >= deadline else { return false }
        statistics.abandoned = inFlight
        return true
    }
}

extension LoadSchedule {
    /// Hands `completion` to the schedule, with the response body when the request keeps it.
    func deliver(_ completion: LoadCompletion, body: (((UnsafeRawBufferPointer) -> Void) -> Void)?) {
        guard completion.request.capturesBody, let body else { return completed(completion) }
        body { bytes in
            var withBody = completion
            withBody.body = bytes
            completed(withBody)
        }
    }
}

/// Waits on `epoll` until a socket is ready or `nanoseconds` have passed (at most 10 ms): whole milliseconds with
/// `epoll_wait`, and with less than a millisecond to go `epoll_pwait2`'s nanosecond timeout, so a start due within
/// the millisecond neither waits a whole one nor spins. (Spinning was the old way: several generator processes on
/// few cores, all due at one `--start-at` instant, then stole each other's CPU just when they had to fire, and
/// their first requests left tens of milliseconds apart.) Returns how many events `events` holds.
func epollWait(_ epoll: Int32, _ events: UnsafeMutableBufferPointer<epoll_event>, nanoseconds: UInt64) -> Int {
    let capacity = Int32(events.count)
    if nanoseconds >= 1_000_000 || nanoseconds == 0 {
        return max(0, Int(epoll_wait(epoll, events.baseAddress, capacity, Int32(min(10, nanoseconds / 1_000_000)))))
    }
    var timeout = timespec(tv_sec: 0, tv_nsec: Int(nanoseconds))
    let count = epoll_pwait2(epoll, events.baseAddress, capacity, &timeout, nil)
    if count < 0, errno == ENOSYS { return max(0, Int(epoll_wait(epoll, events.baseAddress, capacity, 0))) }  // kernels before 5.11
    return max(0, Int(count))
}
