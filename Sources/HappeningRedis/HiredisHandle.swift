import CHiredis
import Foundation
import HappeningPool
import HappeningSystem

/// Owns one hiredis connection (`redisContext *`) and makes the blocking hiredis calls on it.
///
/// `@unchecked Sendable` is safe because a `redisContext` is never used by two threads at once:
/// - the pool lends a handle to one task at a time, and that task awaits each call before the next;
/// - a ``RedisInvalidationListener`` owns its handle alone and uses it only on its own thread;
/// - every hiredis call runs on a thread of the client's own pool, never on the cooperative pool;
/// - the pointer is private and freed exactly once, with `redisFree`, in `deinit`.
final class HiredisHandle: PoolableConnection, @unchecked Sendable {
    private let context: UnsafeMutablePointer<redisContext>
    /// Set when the connection broke (I/O error, timeout, protocol error): the pool then replaces it.
    private(set) var isBroken = false

    /// Connects (blocking), then authenticates and selects the database if configured.
    init(configuration: RedisConfiguration) throws {
        guard let context = redisConnectWithTimeout(configuration.host, Int32(configuration.port), configuration.connectTimeout.timeval) else {
            throw RedisError(kind: .connection)
        }
        self.context = context
        guard context.pointee.err == 0 else { throw RedisError(kind: .connection) }
        guard redisSetTimeout(context, configuration.commandTimeout.timeval) == REDIS_OK else { throw RedisError(kind: .connection) }
        _ = redisEnableKeepAlive(context)
        if let password = configuration.password {
            _ = try execute([["AUTH", RedisArgument(password)]]).first.map(Self.throwingErrors)
        }
        if configuration.database != 0 {
            _ = try execute([["SELECT", RedisArgument(configuration.database)]]).first.map(Self.throwingErrors)
        }
    }

    deinit { redisFree(context) }

    var isReusable: Bool { !isBroken && context.pointee.err == 0 }

    /// Pooled connections never subscribe, so anything readable on an idle one means the server closed
    /// it (shutdown, restart, `CLIENT KILL`): treat it as dead.
    func isAliveWhenIdle() -> Bool {
        guard isReusable, context.pointee.fd >= 0 else { return false }
        var pfd = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        return poll(&pfd, 1, 0) == 0
    }

    /// Sends every command in one write and reads every reply (pipelining): one round trip for all.
    /// Error replies come back as ``RedisValue/error(_:)``; a broken connection throws.
    func execute(_ commands: [[RedisArgument]]) throws -> [RedisValue] {
        for command in commands {
            let status = withArgv(command) { argc, argv, lengths in
                redisAppendCommandArgv(context, argc, argv, lengths)
            }
            guard status == REDIS_OK else { throw brokenError() }
        }
        var replies = [RedisValue]()
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw brokenError() }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            replies.append(Self.value(of: reply))
            freeReplyObject(raw)
        }
        return replies
    }

    /// On a subscribed connection: the next message the server pushes, waiting at most `timeoutMilliseconds`
    /// (nil when none arrived in time). Throws when the connection broke or the server closed it.
    func nextPush(timeoutMilliseconds: Int32) throws -> RedisValue? {
        if let buffered = try bufferedReply() { return buffered }
        var pfd = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pfd, 1, timeoutMilliseconds)
        if ready == 0 || (ready < 0 && errno == EINTR) { return nil }
        // Readable (or hung up): this read does not block, and EOF or an error marks the connection broken.
        guard ready > 0, redisBufferRead(context) == REDIS_OK else { throw brokenError() }
        return try bufferedReply()
    }

    /// A complete reply already read off the socket, if any (never reads).
    private func bufferedReply() throws -> RedisValue? {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReplyFromReader(context, &raw) == REDIS_OK else { throw brokenError() }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return Self.value(of: raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Turns an error reply into a thrown error.
    static func throwingErrors(_ value: RedisValue) throws -> RedisValue {
        if case .error(let message) = value { throw RedisError(kind: .server, message: message) }
        return value
    }

    private func brokenError() -> RedisError {
        isBroken = true
        return RedisError(kind: .connection)
    }

    private static func value(of reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let r = reply.pointee
        func text() -> String {
            guard let str = r.str else { return "" }
            return String(decoding: UnsafeRawBufferPointer(start: str, count: r.len), as: UTF8.self)
        }
        switch r.type {
        case REDIS_REPLY_STRING:
            guard let str = r.str else { return .bulk([]) }
            return .bulk(Array(UnsafeRawBufferPointer(start: str, count: r.len)))
        case REDIS_REPLY_STATUS: return .status(text())
        case REDIS_REPLY_ERROR: return .error(text())
        case REDIS_REPLY_INTEGER: return .integer(Int64(r.integer))
        case REDIS_REPLY_ARRAY:
            guard let elements = r.element else { return .array([]) }
            return .array((0..<r.elements).compactMap { elements[$0].map(value(of:)) })
        default: return .null
        }
    }
}

/// Calls `body` with argc/argv/argvlen for a command; the bytes stay alive for the call only.
private func withArgv<R>(
    _ arguments: [RedisArgument],
    _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R
) -> R {
    let buffers = arguments.map { argument -> UnsafeMutableBufferPointer<CChar> in
        let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: max(1, argument.bytes.count))
        argument.bytes.withUnsafeBytes { source in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
        }
        return buffer
    }
    defer { buffers.forEach { $0.deallocate() } }
    var pointers = buffers.map { UnsafePointer<CChar>?(UnsafePointer($0.baseAddress!)) }
    let lengths = arguments.map { $0.bytes.count }
    return pointers.withUnsafeMutableBufferPointer { argv in
        lengths.withUnsafeBufferPointer { body(Int32(arguments.count), argv.baseAddress!, $0.baseAddress!) }
    }
}
