import NIOCore
import Synchronization

/// The bookings one event loop answers or has the intake decide (``InlineRoutes/deferredBooking(_:body:)``).
///
/// - Reads first: a few bookings (`perWindow`, 16 per millisecond) are answered as they are read; beyond that they wait,
///   and a pump (a task 50 µs later, so the loop reads its sockets in between) takes up to `perWindow` of them at a
///   time. A sale's thousands of refusals then no longer stand between the homepage's requests and their answers:
///   those are read in the same passes and answered at once.
/// - Turns: at most `limit` bookings are decided by the intake at once; the rest wait, and each is looked at again when
///   its turn comes — and whenever the gate finds an event sold out (``IntakeTurnsByLoop/soldOut()``): the sold-out
///   memory may then refuse it on the loop, without a task, a hop or a Redis round trip. Without turns, every booking
///   read before the gate first answered "sold out" (4,106 of a 5,000-user barrier, measured) queued for the intake's
///   thread, each paying for its task and hops while the refusal it ended in could have been given on the loop.
///
/// Waiting bookings keep their order. Only touched on its event loop.
final class IntakeTurns {
    /// A booking waiting for its turn.
    struct Waiting {
        /// Answers it if the sold-out memory refuses it now (true); else does nothing (false).
        let refused: () -> Bool
        /// Starts its decision: true when one started (``IntakeTurns/finished()`` follows its answer), false when there
        /// was nothing to decide (its connection closed).
        let decide: () -> Bool
    }

    private let limit: Int
    private let loop: any EventLoop
    /// Bookings answered as they are read per ``window``; more wait for the pump, so that what is read after them (a
    /// homepage's requests) is answered first.
    private let perWindow: Int
    private static let window = TimeAmount.milliseconds(1)
    private var windowStart = NIODeadline.uptimeNanoseconds(0)
    private var answeredInWindow = 0
    private var deciding = 0
    private var waiting = CircularBuffer<Waiting>()
    /// How many waited when the last pump ended: more now means the loop is still reading a burst.
    private var waitingAfterPump = 0
    private var pumpScheduled = false
    /// Set when a pump ran, cleared when this loop reads anything (``readHappened()``): still set at the next pump means
    /// the loop has not read its sockets in between.
    private var pumpedSinceRead = false
    /// The scheduled pump is the longer wait taken because the loop had not read since the last one.
    private var yieldScheduled = false
    private static let pumpDelay = TimeAmount.microseconds(50)
    private static let yieldDelay = TimeAmount.microseconds(200)

    init(limit: Int, perWindow: Int = 16, loop: any EventLoop) {
        self.limit = max(1, limit)
        self.perWindow = max(1, perWindow)
        self.loop = loop
    }

    /// True when a booking just read may be answered (or decided) now: none waits, and the loop has not answered its
    /// share of bookings in this window. False: it waits (``wait(_:)``).
    func mayAnswerNow() -> Bool {
        guard waiting.isEmpty else { return false }
        let now = NIODeadline.now()
        if now - windowStart > Self.window {
            windowStart = now
            answeredInWindow = 0
        }
        guard answeredInWindow < perWindow else { return false }
        answeredInWindow += 1
        return true
    }

    /// Decides `booking` now when fewer than `limit` decisions run and none waits, else once its turn comes.
    func take(_ booking: Waiting) {
        if deciding < limit, waiting.isEmpty {
            if booking.decide() { deciding += 1 }
        } else {
            wait(booking)
        }
    }

    /// `booking` waits for the pump.
    func wait(_ booking: Waiting) {
        waiting.append(booking)
        schedulePump()
    }

    /// A decision ended: waiting bookings may take the turn.
    func finished() {
        deciding -= 1
        schedulePump()
    }

    /// The gate found an event sold out: waiting bookings may be refused now.
    func sweep() { schedulePump() }

    /// Something was read on this loop (a request's bytes, a client's half-close): the loop has been to its sockets.
    func readHappened() { pumpedSinceRead = false }

    /// The pump runs a little later, so that the loop reads its sockets in between — which NIO does only when no task
    /// is due: it runs every task that falls due while it runs tasks before it polls again, so a pump that is due again
    /// by the time the other tasks of the tick have run (a sale's answers and hops take longer than 50 µs) ran pump after
    /// pump in one tick. Measured on the flash-sale day (`perf trace` of epoll_wait on the loops): stretches of 20–85 ms
    /// without a poll, pumps 36–78 % of their samples, a homepage read waiting through each. A pump that finds nothing
    /// read since the last therefore only schedules itself `yieldDelay` later, and that one takes its share whatever
    /// happened. After (one traced run): the longest stretches 21 and 50 ms, mostly closing the sale's connections.
    private func schedulePump(after delay: TimeAmount = pumpDelay) {
        guard !pumpScheduled, !waiting.isEmpty else { return }
        pumpScheduled = true
        let bound = NIOLoopBound(self, eventLoop: loop)
        loop.scheduleTask(in: delay) { bound.value.pump() }
    }

    /// How many waiting bookings one pump may take: while a burst is still being read (more than `perWindow` bookings
    /// read since the last pump), a quarter of `perWindow` — the loop's time goes to reading first, so a homepage request
    /// waits behind the bookings read before it but less behind their answers; `perWindow` otherwise. On the flash-sale
    /// day at the demo's sizes (4 runs a side, interleaved) browse during the sale read p90 median 19 ms against 28 ms
    /// taking `perWindow` every time, the sale's own p99 unchanged; an eighth was no better. Runs of that window vary
    /// 2× on a 2-core machine: the figure is indicative, not settled. A steady stream (wrk's 50 keep-alive connections
    /// refused from memory) grows the queue by a few between pumps: at a quarter whenever it grew at all, it cost 31.8
    /// µs per refusal against 23.1 (`make perf-gate`, 2026-12-07).
    static func pumpShare(waiting: Int, afterLastPump: Int, perWindow: Int) -> Int {
        waiting - afterLastPump > perWindow ? max(1, perWindow / 4) : perWindow
    }

    /// A few waiting bookings, in order: refused from memory, or decided while turns are free.
    private func pump() {
        pumpScheduled = false
        if pumpedSinceRead, !yieldScheduled {
            yieldScheduled = true
            schedulePump(after: Self.yieldDelay)
            return
        }
        yieldScheduled = false
        pumpedSinceRead = true
        let share = Self.pumpShare(waiting: waiting.count, afterLastPump: waitingAfterPump, perWindow: perWindow)
        defer { waitingAfterPump = waiting.count }
        var handled = 0
        while handled < share, let next = waiting.first {
            if next.refused() {
                _ = waiting.popFirst()
                handled += 1
                continue
            }
            guard deciding < limit else { break }
            _ = waiting.popFirst()
            if next.decide() { deciding += 1 }
            handled += 1
        }
        // Nothing moved: the next decision that ends, or the gate finding the event sold out, runs the pump again.
        if handled > 0 { schedulePump() }
    }
}

/// One ``IntakeTurns`` per event loop, made on the loop when its first connection is set up.
final class IntakeTurnsByLoop: Sendable {
    private final class LoopTurns: Sendable {
        let loop: any EventLoop
        let turns: NIOLoopBound<IntakeTurns>
        /// True while a sweep is scheduled on the loop and has not started (many sold-out replies, one sweep).
        let sweepPending = Atomic<Bool>(false)

        init(loop: any EventLoop, turns: IntakeTurns) {
            self.loop = loop
            self.turns = NIOLoopBound(turns, eventLoop: loop)
        }
    }

    private let limit: Int
    private let loops = Mutex<[ObjectIdentifier: LoopTurns]>([:])

    init(limitPerLoop: Int) { limit = limitPerLoop }

    /// The turns of `loop`; call on `loop`.
    func turns(on loop: any EventLoop) -> IntakeTurns {
        loops.withLock { held in
            if let known = held[ObjectIdentifier(loop)] { return known.turns.value }
            let made = IntakeTurns(limit: limit, loop: loop)
            held[ObjectIdentifier(loop)] = LoopTurns(loop: loop, turns: made)
            return made
        }
    }

    /// The gate just found an event sold out: every loop sweeps its waiting bookings (from any thread).
    func soldOut() {
        for each in loops.withLock({ Array($0.values) }) where !each.sweepPending.exchange(true, ordering: .acquiringAndReleasing) {
            each.loop.execute {
                each.sweepPending.store(false, ordering: .releasing)
                each.turns.value.sweep()
            }
        }
    }
}
