import NIOCore
import Synchronization

/// The bookings one event loop has the intake decide (``InlineRoutes/deferredBooking(_:body:)``): at most `limit` at
/// once. The rest wait their turn on the loop, and each is looked at again before it gets one — and whenever the gate
/// finds an event sold out (``IntakeTurnsByLoop/soldOut()``): the sold-out memory may then refuse it right there, on
/// the loop, without a task, a hop or a Redis round trip.
///
/// A sale's burst reaches the event loops far faster than the intake decides: without turns, every booking read before
/// the gate first answered "sold out" (4,106 of a 5,000-user barrier, measured) queued for the intake's thread, each
/// paying for its task and hops while the refusal it ended in could have been given on the loop. Only touched on its
/// event loop.
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
    private var deciding = 0
    private var waiting = CircularBuffer<Waiting>()

    init(limit: Int) { self.limit = max(1, limit) }

    /// Decides `booking` now when fewer than `limit` decisions run and none waits, else once its turn comes.
    func take(_ booking: Waiting) {
        if deciding < limit, waiting.isEmpty {
            if booking.decide() { deciding += 1 }
        } else {
            waiting.append(booking)
        }
    }

    /// A decision ended: the next waiting bookings take their turns (those refused at once free theirs at once).
    func finished() {
        deciding -= 1
        while deciding < limit, let next = waiting.popFirst() {
            if next.refused() { continue }
            if next.decide() { deciding += 1 }
        }
    }

    /// Answers every waiting booking the sold-out memory refuses now; the others keep their places.
    func sweep() {
        guard !waiting.isEmpty else { return }
        var kept = CircularBuffer<Waiting>(initialCapacity: waiting.count)
        while let next = waiting.popFirst() {
            if !next.refused() { kept.append(next) }
        }
        waiting = kept
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
            let made = IntakeTurns(limit: limit)
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
