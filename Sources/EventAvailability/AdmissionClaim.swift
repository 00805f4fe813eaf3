import Foundation

/// A booking admitted at intake and not decided yet: until it is released, its tickets count against the event's
/// admission gate (the server's `AdmissionGate`), so the gate answers "sold out" once admitted demand covers
/// the tickets left.
///
/// Whoever decides the booking releases the claim after the commit, in the same Redis script that publishes
/// the event's new tickets left (``AvailabilityStore/store(_:releasing:)``), so the gate never sees the
/// decision twice or not at all. A claim nobody releases (its decider died) lapses with its lease.
public struct AdmissionClaim: Sendable, Hashable {
    /// The event whose tickets the booking claims.
    public var event: UUID
    /// The booking (its job's id).
    public var booking: UUID

    public init(event: UUID, booking: UUID) {
        self.event = event
        self.booking = booking
    }

    /// Lua defining the claims hash's two operations (the hash holds, per event: `<booking>` → tickets,
    /// `o:<booking>` → its user, `u:<user>` → that user's claimed tickets, `total` → all claimed tickets):
    /// `claim(claims, booking, user, tickets)` records a claim once; `drop_claim(claims, booking)` removes one
    /// (nothing when it is gone already), keeping `total` and the user's count in step.
    public static let claimsLua = """
        local function claim(claims, id, owner, tickets)
            if redis.call('HSETNX', claims, id, tickets) == 1 then
                redis.call('HSET', claims, 'o:' .. id, owner)
                redis.call('HINCRBY', claims, 'u:' .. owner, tickets)
                redis.call('HINCRBY', claims, 'total', tickets)
            end
        end
        local function drop_claim(claims, id)
            local tickets = redis.call('HGET', claims, id)
            if not tickets then return end
            local owner = redis.call('HGET', claims, 'o:' .. id)
            redis.call('HDEL', claims, id, 'o:' .. id)
            redis.call('HINCRBY', claims, 'total', -tonumber(tickets))
            if owner and redis.call('HINCRBY', claims, 'u:' .. owner, -tonumber(tickets)) <= 0 then
                redis.call('HDEL', claims, 'u:' .. owner)
            end
        end
        """

    /// Lua defining `gate_free(available, claims)`, what an event's gate could still admit (tickets left minus claimed
    /// tickets; nil when Redis holds no tickets left), `reopen(reopened)`, which bumps the event's
    /// ``TicketsLeftKeys/gateReopened(_:)`` key (servers then forget that they found the event sold out), and
    /// `reopen_if_freer(reopened, before, after)`, which does when what the gate could admit grew. Tickets left
    /// published where Redis held none (a first load, an expired key) reopen nothing: a sold-out answer needed them
    /// held, and the memory of one lasts less than the key.
    public static let gateLua = """
        local function gate_free(available_key, claims_key)
            local current = redis.call('GET', available_key)
            local available = current and tonumber(string.match(current, ':(-?%d+)$'))
            if not available then return nil end
            return available - tonumber(redis.call('HGET', claims_key, 'total') or '0')
        end
        local function reopen(reopened_key)
            redis.call('INCR', reopened_key)
            redis.call('EXPIRE', reopened_key, 3600)
        end
        local function reopen_if_freer(reopened_key, before, after)
            if before and after and after > before then reopen(reopened_key) end
        end
        """

    /// Lua that releases claims in Redis: `KEYS` are (leases, claims) pairs from `firstKey`, `ARGV` the booking ids from
    /// `firstArgument`. A claim already released or lapsed is skipped, so a redelivered job releases nothing twice.
    public static func releaseLua(firstKey: String, firstArgument: String) -> String {
        """
        \(claimsLua)
        local k, a = \(firstKey), \(firstArgument)
        while KEYS[k] do
            drop_claim(KEYS[k + 1], ARGV[a])
            redis.call('ZREM', KEYS[k], ARGV[a])
            k, a = k + 2, a + 1
        end
        """
    }
}
