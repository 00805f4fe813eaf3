import Synchronization

/// Runs one Lua script for many concurrent callers in shared pipelines: the calls waiting when a pipeline
/// leaves all go in it (up to ``maximumBatch``), so a burst of N calls costs about N / batch round trips
/// instead of N, and a pool's few connections are not the limit (a flash sale's intake is thousands of calls
/// within a second).
///
/// Each call still runs as its own atomic script in Redis; only the round trip is shared. At most
/// `pipelines` batches are in flight at once. A reply that is a Redis error fails only its own call; a
/// connection failure fails every call of that batch (each caller decides what to do, as with one call).
public final class RedisScriptBatcher: Sendable {
    private let redis: RedisClient
    private let script: String
    private let pipelines: Int
    /// Where batches are sent and their replies handed out (nil: the shared pool).
    private let executor: (any TaskExecutor)?
    /// Most calls in one pipeline (256).
    public let maximumBatch: Int
    private let state = Mutex(State())

    private struct Call {
        let command: [RedisArgument]
        let answered: (@Sendable () -> RedisValue?)?
        let heard: (@Sendable (RedisValue) -> Void)?
        let continuation: CheckedContinuation<RedisValue, any Error>
    }

    private struct State {
        var waiting: [Call] = []
        var running = 0
        var sha: String?
    }

    /// - Parameters:
    ///   - pipelines: batches in flight at once (2: one filling while one is answered).
    ///   - maximumBatch: most calls in one pipeline.
    ///   - executor: where batches are sent and replies handed out (nil: the shared pool). Never the callers' own:
    ///     a burst of callers fills their executor's queue, and each pipeline's reply would wait behind all of them.
    public init(redis: RedisClient, script: String, pipelines: Int = 2, maximumBatch: Int = 256, executor: (any TaskExecutor)? = nil) {
        self.redis = redis
        self.executor = executor
        self.script = script
        self.pipelines = max(1, pipelines)
        self.maximumBatch = max(1, maximumBatch)
    }

    /// Runs the script with `keys` and `arguments` in the next pipeline; returns its reply. `answered` is asked
    /// when the call's batch leaves: a reply it gives is returned instead and the call is not sent (a caller that
    /// can tell, by then, what the script would say: e.g. a sold-out event a batch ahead of it reported). `heard` is
    /// given the script's reply the moment its pipeline answers, before the caller resumes (which may queue behind
    /// other work on its executor): what it learns reaches the calls still waiting at once.
    public func run(
        keys: [String], arguments: [RedisArgument], answered: (@Sendable () -> RedisValue?)? = nil, heard: (@Sendable (RedisValue) -> Void)? = nil
    ) async throws -> RedisValue {
        let tail = [RedisArgument(keys.count)] + keys.map { RedisArgument($0) } + arguments
        return try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { state -> Bool in
                state.waiting.append(Call(command: tail, answered: answered, heard: heard, continuation: continuation))
                guard state.running < pipelines else { return false }
                state.running += 1
                return true
            }
            // Not on the caller's executor preference (``executor``).
            if start { Task(executorPreference: executor ?? globalConcurrentExecutor) { await self.drain() } }
        }
    }

    /// Sends batches until nothing waits.
    private func drain() async {
        while true {
            let (taken, known) = state.withLock { state -> ([Call], String?) in
                let batch = Array(state.waiting.prefix(maximumBatch))
                state.waiting.removeFirst(batch.count)
                if batch.isEmpty { state.running -= 1 }
                return (batch, state.sha)
            }
            if taken.isEmpty { return }
            var batch: [Call] = []
            for call in taken {
                if let reply = call.answered?() { call.continuation.resume(returning: reply) } else { batch.append(call) }
            }
            if batch.isEmpty { continue }
            do {
                let sha: String
                if let known {
                    sha = known
                } else {
                    sha = try await redis.loadScript(script)
                    state.withLock { $0.sha = sha }
                }
                let replies = try await redis.pipeline(batch.map { [RedisArgument("EVALSHA"), RedisArgument(sha)] + $0.command })
                guard replies.count == batch.count else { throw RedisError(kind: .unexpectedReply) }
                for (call, reply) in zip(batch, replies) {
                    guard case .error(let message) = reply else {
                        call.heard?(reply)
                        call.continuation.resume(returning: reply)
                        continue
                    }
                    if message.hasPrefix("NOSCRIPT") {
                        // Redis forgot the script (a restart): this call runs it by text, and the next batch reloads it.
                        state.withLock { $0.sha = nil }
                        do { call.continuation.resume(returning: try await redis.send([RedisArgument("EVAL"), RedisArgument(script)] + call.command)) } catch {
                            call.continuation.resume(throwing: error)
                        }
                    } else {
                        call.continuation.resume(throwing: RedisError(kind: .server, message: message))
                    }
                }
            } catch {
                for call in batch { call.continuation.resume(throwing: error) }
            }
        }
    }
}
