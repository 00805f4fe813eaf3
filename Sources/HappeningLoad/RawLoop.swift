import CCurl
import Foundation
import HappeningHTTP
import HappeningSystem

/// The lean load engine: requests are pre-serialised HTTP/1.1 and responses are framed by ``HTTP1ResponseParser``.
/// Over plain HTTP the connections are sockets the loop opens itself (``TCPConnector``) and reads and writes with
/// `send`/`recv`; over TLS libcurl opens each one (`CURLOPT_CONNECT_ONLY`: resolution, connect, handshake, through
/// ``RawConnector``) and moves its bytes (`curl_easy_send` / `curl_easy_recv`). Per request that is one send and one
/// receive on a kept-alive connection, with epoll telling which connection is ready — none of libcurl's
/// per-transfer bookkeeping, which is what costs ``CurlLoadLoop`` most of its CPU (see scripts/compare-wrk.sh).
///
/// Same schedules, same completions as ``CurlLoadLoop``. Connections are opened on the loop's thread before
/// the first request (and again after the server closes one); HTTP/1.1 only, one request at a time per
/// connection (no pipelining).
public enum RawLoop {
    public static func run(options: LoopOptions, origin: String, schedule: any LoadSchedule, stop: StopFlag) throws -> LoopStatistics {
        _ = CurlGlobal.initialized
        let epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else { throw CurlError(CURLE_FAILED_INIT, message: "epoll_create1 failed (errno \(errno))") }
        defer { close(epoll) }
        // Declared before the connections, so that it is cleaned up after they are closed.
        let transport = try RawTransport(origin: origin, options: options)
        let connections = (0..<options.connections).map { RawConnection(index: $0, transport: transport, epoll: epoll) }
        defer { for connection in connections { connection.close() } }
        for connection in connections { _ = connection.connect() }
        schedule.loopReady(now: monotonicNanoseconds())

        let receiveBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
        defer { receiveBuffer.deallocate() }
        var ready = [epoll_event](repeating: epoll_event(), count: 512)
        var progress = LoopProgress(connections: options.connections, drainTimeout: options.drainTimeout)
        var lastTimeoutScan: UInt64 = 0
        var now = monotonicNanoseconds()
        let requestTimeout = UInt64(options.requestTimeout.nanoseconds)
        while true {
            progress.iterate(now: now, schedule: schedule)
            let nextWake = progress.startIdle(now: now, stopped: stop.isStopped, schedule: schedule) { index, request, intended in
                let connection = connections[index]
                connection.inFlight = request
                connection.intendedStart = intended
                connection.actualStart = monotonicNanoseconds()  // when it really left: a burst of thousands takes a while
                connection.deadline = now &+ requestTimeout
                connection.parser.keepsBody = request.capturesBody
                guard let failure = connection.send(request) else { return true }
                report(connection, status: 0, error: failure, end: monotonicNanoseconds(), to: schedule)
                return false
            }
            if progress.isOver(now: now, stopped: stop.isStopped) { break }
            // Requests past their timeout: an error, and a fresh connection.
            if progress.inFlight > 0, now &- lastTimeoutScan >= 10_000_000 {
                lastTimeoutScan = now
                for connection in connections where connection.inFlight != nil && connection.deadline <= now {
                    connection.reconnect()
                    complete(connection, status: 0, error: 28, end: now, schedule: schedule, progress: &progress)  // CURLE_OPERATION_TIMEDOUT
                }
            }

            let wake = progress.hasIdle ? nextWake : now &+ 10_000_000
            let count = ready.withUnsafeMutableBufferPointer { epollWait(epoll, $0, nanoseconds: wake > now ? wake - now : 0) }
            now = monotonicNanoseconds()
            schedule.loopWoke(late: now > wake ? now &- wake : 0, now: now)
            for position in 0..<max(0, Int(count)) {
                let event = ready[position]
                handle(event.events, on: connections[Int(event.data.u32)], buffer: receiveBuffer, now: now, schedule: schedule, progress: &progress)
            }
        }
        return progress.statistics
    }

    /// Acts on what epoll reported for `connection`: the rest of a request to send, a response, a failure, or a
    /// close by the server.
    private static func handle(
        _ events: UInt32, on connection: RawConnection, buffer: UnsafeMutableRawBufferPointer, now: UInt64,
        schedule: any LoadSchedule, progress: inout LoopProgress
    ) {
        if events & EPOLLOUT.rawValue != 0, connection.hasPendingSend, let failure = connection.continueSending() {
            complete(connection, status: 0, error: failure, end: now, schedule: schedule, progress: &progress)
        }
        guard events & (EPOLLIN.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 else { return }
        switch connection.receive(into: buffer) {
        case .waiting:
            break
        case .response:
            let keepAlive = connection.parser.keepAlive
            // Timed when its last bytes arrived, not when this loop read them (``ArrivalTime``).
            let end = ArrivalTime.end(arrived: connection.lastArrival, sent: connection.actualStart, read: now)
            complete(connection, status: connection.parser.status, error: nil, end: end, schedule: schedule, progress: &progress)
            if !keepAlive { connection.reconnect() }
        case .failed(let code):
            connection.reconnect()
            complete(connection, status: 0, error: code, end: now, schedule: schedule, progress: &progress)
        case .closedWhileIdle:
            connection.reconnect()
        }
    }

    /// Ends the transfer on `connection`, hands it to the schedule; the connection is idle again.
    private static func complete(
        _ connection: RawConnection, status: Int, error: Int32?, end: UInt64, schedule: any LoadSchedule,
        progress: inout LoopProgress
    ) {
        guard connection.inFlight != nil else { return }
        report(connection, status: status, error: error, end: end, to: schedule)
        progress.ended(connection: connection.index)
    }

    /// Hands the transfer on `connection` to the schedule and clears it (the counters are the caller's).
    private static func report(_ connection: RawConnection, status: Int, error: Int32?, end: UInt64, to schedule: any LoadSchedule) {
        guard let request = connection.inFlight else { return }
        connection.inFlight = nil
        let completion = LoadCompletion(
            connection: connection.index, request: request, intendedStart: connection.intendedStart, actualStart: connection.actualStart,
            end: end, status: error == nil ? status : 0, curlError: error, bodyBytes: connection.parser.bodyBytes,
            cacheHit: connection.parser.cacheHit, requestID: connection.parser.requestID, body: nil)
        schedule.deliver(completion, body: error == nil ? { use in connection.parser.withBody(use) } : nil)
        connection.parser.reset()
    }
}

/// How a ``RawLoop`` opens its connections: plain TCP itself, TLS through libcurl (one multi handle and one DNS
/// cache per loop). Used on its loop's thread only.
final class RawTransport {
    enum Opener {
        case plain(TCPConnector)
        case tls(RawConnector, share: UnsafeMutableRawPointer?)
    }

    let origin: String
    let options: LoopOptions
    let opener: Opener

    init(origin: String, options: LoopOptions) throws {
        (self.origin, self.options) = (origin, options)
        if !origin.lowercased().hasPrefix("https:") {
            guard let connector = TCPConnector(origin: origin, connectTimeout: options.connectTimeout) else {
                throw CurlError(CURLE_URL_MALFORMAT, message: "no host in \(origin)")
            }
            opener = .plain(connector)
            return
        }
        // The DNS cache is used on this thread only, so it needs no locking.
        let share = curl_share_init()
        if let share { _ = happening_curl_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_DNS.rawValue)) }
        opener = .tls(try RawConnector(connections: options.connections), share: share)
    }

    deinit { if case .tls(_, let share?) = opener { curl_share_cleanup(share) } }

    var isPlain: Bool {
        if case .plain = opener { return true }
        return false
    }
}

/// One connection of a ``RawLoop``: its socket (and over TLS the `CONNECT_ONLY` easy handle that owns it) and
/// the response parser. Used only on its loop's thread.
final class RawConnection {
    enum Received {
        case waiting, response
        case failed(Int32)
        case closedWhileIdle
    }

    let index: Int
    let transport: RawTransport
    let epoll: Int32
    /// Over TLS: the easy handle whose connection this is (nil over plain TCP).
    var handle: UnsafeMutableRawPointer?
    var socket: Int32 = -1
    var parser = HTTP1ResponseParser()
    var inFlight: PreparedRequest?
    var intendedStart: UInt64 = 0
    var actualStart: UInt64 = 0
    var deadline: UInt64 = 0
    /// When the newest bytes read arrived, as the kernel stamped them (CLOCK_REALTIME ns; ``ArrivalTime``).
    private var lastArrivalRealtime: UInt64?
    /// ``lastArrivalRealtime`` on the loop's monotonic clock (converted once per answer, not per read).
    var lastArrival: UInt64? { lastArrivalRealtime.map(ArrivalTime.monotonic(fromRealtime:)) }
    private var stampsArrivals = false
    private var control = [UInt8](repeating: 0, count: ArrivalTime.controlBytes)
    private var pending: PreparedRequest?
    private var sent = 0
    private let plain: Bool

    init(index: Int, transport: RawTransport, epoll: Int32) {
        (self.index, self.transport, self.epoll) = (index, transport, epoll)
        plain = transport.isPlain
    }

    var hasPendingSend: Bool { pending != nil }

    /// Opens the connection (blocking, bounded by the connect timeout); libcurl's error number when it failed.
    @discardableResult
    func connect() -> Int32? {
        close()
        switch transport.opener {
        case .plain(let connector):
            switch connector.connect() {
            case .success(let opened):
                socket = opened
                stampsArrivals = ArrivalTime.enable(on: opened)
            case .failure(let failure): return failure.code
            }
        case .tls(let connector, let share):
            guard let opened = openTLS(connector, share: share) else { return 7 }  // CURLE_COULDNT_CONNECT
            socket = opened
        }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u32 = UInt32(index)
        epoll_ctl(epoll, EPOLL_CTL_ADD, socket, &event)
        watchingOutput = false  // a new socket, watched for input only (a reopened one may have waited to write)
        return nil
    }

    /// A `CONNECT_ONLY` easy handle connected (and its TLS handshake done) through `connector`; its socket.
    private func openTLS(_ connector: RawConnector, share: UnsafeMutableRawPointer?) -> Int32? {
        guard let handle = curl_easy_init() else { return nil }
        self.handle = handle
        let options = transport.options
        _ = happening_curl_easy_setopt_string(handle, CURLOPT_URL, transport.origin)
        _ = happening_curl_easy_setopt_long(handle, CURLOPT_CONNECT_ONLY, 1)
        _ = happening_curl_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = happening_curl_easy_setopt_long(handle, CURLOPT_TCP_NODELAY, 1)
        _ = happening_curl_easy_setopt_string(handle, CURLOPT_PROXY, "")
        // The handle's own receive buffer (16 KiB by default) is never used: curl_easy_recv fills the loop's. The smallest
        // libcurl allows saves 15 KiB per open connection.
        _ = happening_curl_easy_setopt_long(handle, CURLOPT_BUFFERSIZE, 1_024)
        // ALPN must offer HTTP/1.1 only, since the bytes are ours.
        _ = happening_curl_easy_setopt_long(handle, CURLOPT_HTTP_VERSION, 2)  // CURL_HTTP_VERSION_1_1
        _ = options.tls.apply(to: handle)
        _ = happening_curl_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(options.connectTimeout.nanoseconds / 1_000_000))
        if let share { _ = happening_curl_easy_setopt_pointer(handle, CURLOPT_SHARE, share) }
        guard connector.connect(handle) else { return nil }
        var active: curl_socket_t = -1
        guard happening_curl_easy_getinfo_socket(handle, CURLINFO_ACTIVESOCKET, &active) == CURLE_OK, active >= 0 else { return nil }
        return active
    }

    func reconnect() {
        parser.reset()
        pending = nil
        connect()
    }

    func close() {
        if socket >= 0 {
            epoll_ctl(epoll, EPOLL_CTL_DEL, socket, nil)
            if plain { Glibc.close(socket) }  // over TLS the socket is libcurl's, closed with its handle
        }
        socket = -1
        if let handle, case .tls(let connector, _) = transport.opener {
            connector.remove(handle)
            curl_easy_cleanup(handle)
        }
        handle = nil
    }

    /// Starts sending `request`; a libcurl error code when the connection is unusable.
    func send(_ request: PreparedRequest) -> Int32? {
        if socket < 0, let failure = connect() { return failure }
        parser.reset()
        pending = request
        sent = 0
        return continueSending()
    }

    /// Sends what the socket takes; waits for writability (EPOLLOUT) when it takes no more.
    func continueSending() -> Int32? {
        guard let request = pending, socket >= 0 else { return nil }
        while sent < request.wire.count {
            var written = 0
            let code = request.wire.withUnsafeBytes { bytes in
                transmit(bytes.baseAddress! + sent, bytes.count - sent, &written)
            }
            if code == CURLE_AGAIN {
                watch(output: true)
                return nil
            }
            guard code == CURLE_OK else {
                pending = nil
                return Int32(code.rawValue)
            }
            sent += written
        }
        if pending != nil {
            pending = nil
            watch(output: false)
        }
        return nil
    }

    private var watchingOutput = false

    /// Over plain TCP the bytes go straight to the socket; over TLS through libcurl, which encrypts
    /// (`curl_easy_send` / `curl_easy_recv` find the connection in the loop's multi handle).
    private func transmit(_ bytes: UnsafeRawPointer, _ count: Int, _ written: inout Int) -> CURLcode {
        guard plain else { return curl_easy_send(handle, bytes, count, &written) }
        let result = Glibc.send(socket, bytes, count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
        if result >= 0 {
            written = result
            return CURLE_OK
        }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? CURLE_AGAIN : CURLE_SEND_ERROR
    }

    private func collect(_ buffer: UnsafeMutableRawPointer, _ capacity: Int, _ count: inout Int) -> CURLcode {
        guard plain else { return curl_easy_recv(handle, buffer, capacity, &count) }
        let result = stampsArrivals ? receiveStamped(buffer, capacity) : Glibc.recv(socket, buffer, capacity, Int32(MSG_DONTWAIT))
        if result >= 0 {
            count = result
            return CURLE_OK
        }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? CURLE_AGAIN : CURLE_RECV_ERROR
    }

    /// `recv` through `recvmsg`, keeping the kernel's arrival stamp of what it read (``lastArrivalRealtime``).
    private func receiveStamped(_ buffer: UnsafeMutableRawPointer, _ capacity: Int) -> Int {
        var vector = iovec(iov_base: buffer, iov_len: capacity)
        return withUnsafeMutablePointer(to: &vector) { vectorPointer in
            control.withUnsafeMutableBytes { controlBytes in
                var message = msghdr()
                message.msg_iov = vectorPointer
                message.msg_iovlen = 1
                message.msg_control = controlBytes.baseAddress
                message.msg_controllen = controlBytes.count
                let read = recvmsg(socket, &message, Int32(MSG_DONTWAIT))
                if read > 0, let stamp = ArrivalTime.realtimeStamp(in: UnsafeRawBufferPointer(controlBytes), length: Int(message.msg_controllen)) {
                    lastArrivalRealtime = stamp
                }
                return read
            }
        }
    }

    private func watch(output: Bool) {
        guard output != watchingOutput, socket >= 0 else { return }
        watchingOutput = output
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | (output ? EPOLLOUT.rawValue : 0)
        event.data.u32 = UInt32(index)
        epoll_ctl(epoll, EPOLL_CTL_MOD, socket, &event)
    }

    /// Reads what arrived and parses it.
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> Received {
        guard socket >= 0 else { return .failed(56) }
        while true {
            var count = 0
            let code = collect(buffer.baseAddress!, buffer.count, &count)
            if code == CURLE_AGAIN { return .waiting }
            guard code == CURLE_OK else { return inFlight == nil ? .closedWhileIdle : .failed(Int32(code.rawValue)) }
            if count == 0 {  // the server closed the connection
                if inFlight == nil { return .closedWhileIdle }
                return .failed(parser.isEmpty ? 52 : 56)  // CURLE_GOT_NOTHING / CURLE_RECV_ERROR
            }
            guard inFlight != nil else { return .closedWhileIdle }  // bytes nobody asked for
            switch parser.consume(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) {
            case .needMore: continue
            case .complete: return .response
            case .malformed: return .failed(8)  // CURLE_WEIRD_SERVER_REPLY
            }
        }
    }
}
