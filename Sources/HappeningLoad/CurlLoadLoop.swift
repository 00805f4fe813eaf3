import CCurl
import Foundation
import HappeningHTTP
import HappeningSystem

/// A load-generating HTTP/1.1 client: one libcurl multi handle driven by `curl_multi_socket_action` and
/// `epoll` on the calling thread, with one easy handle per virtual connection, reused for every request
/// (keep-alive connections stay in the multi handle's cache, whose size is the connection count).
///
/// The loop asks its ``LoadSchedule`` what each idle connection should send, adds the easy handle,
/// lets libcurl act only on the sockets epoll reports ready (or on its timer), and reports each
/// completion with monotonic timestamps. Options that do not change are set once per handle; a request's
/// own options (URL, method, headers, body) only when it differs from the previous one on that handle.
/// Run it on a thread of its own: ``run(options:schedule:stop:)`` blocks.
public enum CurlLoadLoop {
    public static func run(options: LoopOptions, schedule: any LoadSchedule, stop: StopFlag) throws -> LoopStatistics {
        _ = CurlGlobal.initialized
        let events = try EpollSet()
        let multi = try makeMulti(options: options, events: events)
        defer { curl_multi_cleanup(multi) }
        var connections: [LoadConnection] = []
        connections.reserveCapacity(options.connections)
        for index in 0..<options.connections { connections.append(try LoadConnection(index: index, options: options)) }
        defer {
            for connection in connections where connection.inFlight != nil { curl_multi_remove_handle(multi, connection.handle) }
        }

        var progress = LoopProgress(connections: options.connections, drainTimeout: options.drainTimeout)
        var running: Int32 = 0
        var now = monotonicNanoseconds()
        schedule.loopReady(now: now)
        while true {
            events.now = now
            progress.iterate(now: now, schedule: schedule)
            // Ask idle connections what to send.
            let nextWake = try progress.startIdle(now: now, stopped: stop.isStopped, schedule: schedule) { index, request, intended in
                let connection = connections[index]
                try connection.prepare(request)
                connection.inFlight = request
                connection.intendedStart = intended
                connection.actualStart = now
                let code = curl_multi_add_handle(multi, connection.handle)
                guard code == CURLM_OK else { throw CurlError(code: Int(code.rawValue), message: String(cString: curl_multi_strerror(code))) }
                return true
            }
            if progress.isOver(now: now, stopped: stop.isStopped) { break }

            // libcurl's own timer (new transfers are started from it, with a zero timeout).
            if let due = events.timerDeadline, due <= now {
                events.timerDeadline = nil
                curl_multi_socket_action(multi, -1, 0, &running)  // CURL_SOCKET_TIMEOUT
                now = monotonicNanoseconds()
                events.now = now
                collect(multi: multi, connections: connections, schedule: schedule, progress: &progress, end: now)
            }

            // Wait for ready sockets, libcurl's timer or the next scheduled start (at most 10 ms; under a millisecond
            // to go, with a nanosecond timeout: open-model arrivals are not delayed by timer granularity).
            var wake = progress.hasIdle ? nextWake : now &+ 10_000_000
            if let due = events.timerDeadline { wake = min(wake, due) }
            let ready = events.wait(nanoseconds: wake > now ? wake - now : 0)
            now = monotonicNanoseconds()
            if ready > 0 {
                events.now = now
                for position in 0..<ready {
                    let (socket, flags) = events.event(at: position)
                    if events.isWatched(socket) { curl_multi_socket_action(multi, socket, flags, &running) }
                }
                collect(multi: multi, connections: connections, schedule: schedule, progress: &progress, end: monotonicNanoseconds())
            }
            schedule.loopWoke(late: now > wake ? now &- wake : 0, now: now)
        }
        return progress.statistics
    }

    /// A multi handle whose sockets and timer are kept in `events`, caching one connection per virtual connection.
    private static func makeMulti(options: LoopOptions, events: EpollSet) throws -> UnsafeMutableRawPointer {
        guard let multi = curl_multi_init() else { throw CurlError(CURLE_FAILED_INIT, message: "curl_multi_init failed") }
        let eventsPointer = Unmanaged.passUnretained(events).toOpaque()
        _ = happening_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, options.tcpConnections)
        if let http2 = options.http2 {
            // Multiplexing (CURLPIPE_MULTIPLEX), at most `streams` per connection and so at most this many connections.
            _ = happening_curl_multi_setopt_long(multi, CURLMOPT_PIPELINING, 2)
            _ = happening_curl_multi_setopt_long(multi, CURLMOPT_MAX_CONCURRENT_STREAMS, http2.streams)
            _ = happening_curl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, options.tcpConnections)
        } else {
            _ = happening_curl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0)
        }
        _ = happening_curl_multi_setopt_socket_callback(multi, CURLMOPT_SOCKETFUNCTION, loopSocketCallback)
        _ = happening_curl_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, eventsPointer)
        _ = happening_curl_multi_setopt_timer_callback(multi, CURLMOPT_TIMERFUNCTION, loopTimerCallback)
        _ = happening_curl_multi_setopt_pointer(multi, CURLMOPT_TIMERDATA, eventsPointer)
        return multi
    }

    /// Hands finished transfers to the schedule; `end` is the time the batch was observed.
    private static func collect(
        multi: UnsafeMutableRawPointer, connections: [LoadConnection], schedule: any LoadSchedule,
        progress: inout LoopProgress, end: UInt64
    ) {
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            let result = message.pointee.data.result
            var privateData: UnsafeMutableRawPointer?
            _ = happening_curl_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &privateData)
            let index = Int(bitPattern: privateData)
            let connection = connections[index]
            var status = 0
            _ = happening_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            var version = 0
            _ = happening_curl_easy_getinfo_long(easy, CURLINFO_HTTP_VERSION, &version)
            var opened = 0
            _ = happening_curl_easy_getinfo_long(easy, CURLINFO_NUM_CONNECTS, &opened)
            curl_multi_remove_handle(multi, easy)
            guard let request = connection.inFlight else {
                progress.ended(connection: index, requeue: false)
                continue
            }
            connection.inFlight = nil
            let sink = connection.sink
            let completion = LoadCompletion(
                connection: index, request: request, intendedStart: connection.intendedStart, actualStart: connection.actualStart,
                end: end, status: result == CURLE_OK ? status : 0, curlError: result == CURLE_OK ? nil : Int32(result.rawValue),
                bodyBytes: sink.bodyBytes, cacheHit: sink.cacheHit, requestID: sink.requestID, body: nil,
                httpVersion: result == CURLE_OK ? HTTPVersion(curlInfo: version) : nil, connectionsOpened: opened)
            schedule.deliver(completion) { use in sink.captured.withUnsafeBytes { use($0) } }
            sink.reset()
            progress.ended(connection: index)
        }
    }
}

/// The epoll set libcurl's socket callback maintains, and libcurl's timer deadline.
///
/// Used only on its loop's thread (libcurl calls the callbacks from inside `curl_multi_socket_action` and
/// `curl_multi_add_handle`, on that thread).
final class EpollSet {
    let descriptor: Int32
    /// Monotonic nanoseconds at which libcurl wants `CURL_SOCKET_TIMEOUT`, nil for none.
    var timerDeadline: UInt64?
    /// The loop's latest clock reading: libcurl resets its timer many times per transfer, and its timeouts
    /// are in milliseconds, so the callback need not read the clock itself.
    var now: UInt64 = 0
    private var ready: [epoll_event]

    init() throws {
        descriptor = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard descriptor >= 0 else { throw CurlError(CURLE_FAILED_INIT, message: "epoll_create1 failed (errno \(errno))") }
        ready = Array(repeating: epoll_event(), count: 512)
    }

    deinit { close(descriptor) }

    /// The epoll mask registered per socket (0: not registered). A socket libcurl stops watching (a
    /// keep-alive connection between requests) stays registered, so reusing it costs no system call; if it
    /// reports an event while unwatched (the server closed it) it is removed then.
    private var registered: [UInt32] = Array(repeating: 0, count: 1_024)
    private var watched: [Bool] = Array(repeating: false, count: 1_024)

    /// Registers, changes or forgets `socket` for libcurl's `what` (1 in, 2 out, 3 both, 4 remove).
    func update(socket: Int32, what: Int32) {
        let slot = Int(socket)
        guard slot >= 0 else { return }
        if slot >= registered.count {
            registered += Array(repeating: 0, count: slot + 1_024 - registered.count)
            watched += Array(repeating: false, count: slot + 1_024 - watched.count)
        }
        if what == 4 {  // CURL_POLL_REMOVE: keep it in the set, but unwatched
            watched[slot] = false
            return
        }
        var mask: UInt32 = 0
        if what & 1 != 0 { mask |= EPOLLIN.rawValue }
        if what & 2 != 0 { mask |= EPOLLOUT.rawValue }
        watched[slot] = true
        if registered[slot] == mask { return }
        var event = epoll_event()
        event.events = mask
        event.data.fd = socket
        // MOD first when we think it is registered (a closed and reused descriptor fails with ENOENT: then ADD).
        if registered[slot] == 0 || epoll_ctl(descriptor, EPOLL_CTL_MOD, socket, &event) != 0 {
            if epoll_ctl(descriptor, EPOLL_CTL_ADD, socket, &event) != 0, errno == EEXIST {
                epoll_ctl(descriptor, EPOLL_CTL_MOD, socket, &event)
            }
        }
        registered[slot] = mask
    }

    /// Whether libcurl currently watches `socket`; an unwatched one that reports an event is dropped.
    func isWatched(_ socket: Int32) -> Bool {
        let slot = Int(socket)
        guard slot >= 0, slot < watched.count else { return false }
        if watched[slot] { return true }
        epoll_ctl(descriptor, EPOLL_CTL_DEL, socket, nil)
        registered[slot] = 0
        return false
    }

    /// Waits up to `nanoseconds` (at most 10 ms; 0: just look); returns how many sockets are ready.
    func wait(nanoseconds: UInt64) -> Int {
        ready.withUnsafeMutableBufferPointer { epollWait(descriptor, $0, nanoseconds: nanoseconds) }
    }

    /// The ready socket at `position` and libcurl's `CURL_CSELECT_*` flags for it.
    func event(at position: Int) -> (Int32, Int32) {
        let event = ready[position]
        var flags: Int32 = 0
        if event.events & EPOLLIN.rawValue != 0 { flags |= 1 }  // CURL_CSELECT_IN
        if event.events & EPOLLOUT.rawValue != 0 { flags |= 2 }  // CURL_CSELECT_OUT
        if event.events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 { flags |= 4 }  // CURL_CSELECT_ERR
        return (event.data.fd, flags)
    }
}

private func loopSocketCallback(
    _ easy: UnsafeMutableRawPointer?, _ socket: Int32, _ what: Int32, _ user: UnsafeMutableRawPointer?,
    _ socketData: UnsafeMutableRawPointer?
) -> Int32 {
    guard let user else { return 0 }
    Unmanaged<EpollSet>.fromOpaque(user).takeUnretainedValue().update(socket: socket, what: what)
    return 0
}

private func loopTimerCallback(_ multi: UnsafeMutableRawPointer?, _ timeoutMilliseconds: Int, _ user: UnsafeMutableRawPointer?) -> Int32 {
    guard let user else { return 0 }
    let events = Unmanaged<EpollSet>.fromOpaque(user).takeUnretainedValue()
    events.timerDeadline = timeoutMilliseconds < 0 ? nil : events.now &+ UInt64(timeoutMilliseconds) * 1_000_000
    return 0
}
