import CCurl
import Foundation
import HappeningHTTP
import Synchronization

/// A request prepared once and sent many times by a ``CurlLoadLoop``: the URL, method and body are kept
/// as C strings and the header list as a libcurl `curl_slist`, all built here, so sending it allocates no
/// handle and no header list.
///
/// `@unchecked Sendable` is safe because every stored property is immutable after `init`; the C buffers are
/// only read (by libcurl, on a loop's thread) and freed once, in `deinit`, after the last loop using the
/// request has finished with it (loops keep a strong reference while a transfer is in flight).
public final class PreparedRequest: @unchecked Sendable {
    /// Which template of the scenario this request came from (per-template statistics).
    public let template: Int
    /// `GET`, `POST`, … as given.
    public let method: String
    /// The full URL, for reports and errors.
    public let url: String
    /// Keep the response body so ``LoadCompletion/body`` can be read (e.g. to capture a booking id).
    public let capturesBody: Bool
    /// A value the caller attaches (e.g. the virtual user's index).
    public let tag: Int

    let urlC: UnsafeMutablePointer<CChar>
    let methodC: UnsafeMutablePointer<CChar>?
    let body: UnsafeMutableRawBufferPointer?
    let headerList: UnsafeMutablePointer<curl_slist>?
    let isGet: Bool
    /// The request as HTTP/1.1 bytes, for the raw engine (``RawLoop``).
    let wire: [UInt8]

    public init(
        template: Int = 0, method: String = "GET", url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        capturesBody: Bool = false, tag: Int = 0
    ) {
        self.template = template
        self.method = method.uppercased()
        self.url = url
        self.capturesBody = capturesBody
        self.tag = tag
        urlC = strdup(url)
        isGet = self.method == "GET" && body == nil
        methodC = (self.method == "GET" || self.method == "POST") ? nil : strdup(self.method)
        if !isGet {
            // Non-GET requests always get a buffer (possibly empty): libcurl needs a valid pointer.
            let bytes = body ?? []
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
            buffer.copyBytes(from: bytes)
            self.body = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<bytes.count])
        } else {
            self.body = nil
        }
        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in headers { list = curl_slist_append(list, "\(name): \(value)") }
        if body != nil { list = curl_slist_append(list, "Expect:") }  // never wait for 100-continue
        headerList = list
        wire = Self.serialise(method: self.method, url: url, headers: headers, body: body)
    }

    /// The request's head as the raw engine sends it, without the blank line that ends it: what a slow client sends
    /// before it stops (the target keeps waiting for the rest).
    public var unfinishedHead: [UInt8] {
        let end: [UInt8] = [13, 10, 13, 10]
        guard let blank = (0..<max(0, wire.count - 3)).first(where: { wire[$0..<($0 + 4)].elementsEqual(end) }) else { return wire }
        return Array(wire[..<(blank + 2)])
    }

    /// `METHOD /path?query HTTP/1.1`, `Host`, the headers, `Content-Length` when there is a body, the body.
    static func serialise(method: String, url: String, headers: [(String, String)], body: [UInt8]?) -> [UInt8] {
        let components = URLComponents(string: url)
        var target = components?.percentEncodedPath ?? "/"
        if target.isEmpty { target = "/" }
        if let query = components?.percentEncodedQuery { target += "?" + query }
        var host = components?.host ?? "localhost"
        if host.contains(":") { host = "[\(host)]" }
        if let port = components?.port { host += ":\(port)" }
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: happening-bench\r\nAccept: */*\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" } else if method != "GET" && method != "HEAD" { head += "Content-Length: 0\r\n" }
        head += "\r\n"
        return Array(head.utf8) + (body ?? [])
    }

    deinit {
        free(urlC)
        free(methodC)
        body?.deallocate()
        curl_slist_free_all(headerList)
    }
}

/// What a schedule tells the loop to do with an idle virtual connection.
public enum LoadDecision {
    /// Send `request` now; latency is measured from `intendedStart` (monotonic ns), which may be earlier than
    /// now when the request is late (coordinated-omission correction).
    case send(PreparedRequest, intendedStart: UInt64)
    /// Nothing for *this* connection before the given monotonic time; ask the other idle connections.
    case notYet(until: UInt64)
    /// Nothing for *any* connection before the given time (an open-model arrival schedule): stop asking.
    case pause(until: UInt64)
    /// This connection is finished.
    case done
}

/// One finished transfer, handed to the schedule on the loop's thread.
public struct LoadCompletion {
    public var connection: Int
    public var request: PreparedRequest
    /// Monotonic nanoseconds: when the request should have started, when it did, and when it finished.
    public var intendedStart: UInt64
    public var actualStart: UInt64
    public var end: UInt64
    /// The HTTP status (0 when the transfer failed).
    public var status: Int
    /// The libcurl error code, nil on success.
    public var curlError: Int32?
    /// Response body bytes received.
    public var bodyBytes: Int
    /// The `X-Cache` header: true for `HIT`, false for anything else, nil when absent.
    public var cacheHit: Bool?
    /// The `X-Request-Id` header of an answer whose body was kept (``PreparedRequest/capturesBody``), nil otherwise.
    public var requestID: String? = nil
    /// The body when ``PreparedRequest/capturesBody`` (valid only during the `completed` call).
    public var body: UnsafeRawBufferPointer?
    /// The HTTP version the answer came in (the curl engine reports it; nil: not known).
    public var httpVersion: HTTPVersion? = nil
    /// TCP connections this transfer had to open (0 when it reused or multiplexed onto one; the curl engine).
    public var connectionsOpened: Int = 0

    /// The latency the report uses: from the intended start (coordinated-omission corrected).
    public var latencyNanoseconds: UInt64 { end &- intendedStart }
}

/// The scheduling and recording side of a load loop: a load model. Called on the loop's thread only.
public protocol LoadSchedule: AnyObject {
    /// The decision for idle virtual connection `connection` at monotonic time `now`.
    func next(connection: Int, now: UInt64) -> LoadDecision
    /// A transfer finished.
    func completed(_ completion: LoadCompletion)
    /// Called about every millisecond of loop time with the current time (for per-second bookkeeping).
    func tick(now: UInt64)
    /// Called once, when the loop is ready to send (the raw engine has opened every connection by then).
    func loopReady(now: UInt64)
    /// Called after each wait: the loop woke at `now`, `late` nanoseconds after the earliest thing it was waiting for
    /// was due (0 when it woke in time). A generator short of CPU wakes late: this is its own lag, not the server's.
    func loopWoke(late: UInt64, now: UInt64)
}

extension LoadSchedule {
    public func loopReady(now: UInt64) {}
    public func loopWoke(late: UInt64, now: UInt64) {}
}

/// Settings of one loop (one event loop on one thread: epoll for the raw engine, a libcurl multi handle for curl).
public struct LoopOptions: Sendable {
    /// Virtual connections: one easy handle each, kept alive between requests.
    public var connections: Int
    /// Total time allowed for one transfer (default 30 s).
    public var requestTimeout: Duration = .seconds(30)
    /// Time allowed to connect (default 5 s).
    public var connectTimeout: Duration = .seconds(5)
    /// After every connection is `done`, how long in-flight transfers may still finish (default 10 s).
    public var drainTimeout: Duration = .seconds(10)
    /// Which engine sends: libcurl's full HTTP transfers, or our own sockets (TLS through libcurl) with our HTTP/1.1 framing.
    public var engine: LoadEngine = .curl
    /// How an `https` target's certificate is checked (on by default).
    public var tls: TLSVerification = .system
    /// HTTP/2 with multiplexing (the curl engine only); nil: HTTP/1.1, one request at a time per connection.
    public var http2: HTTP2Multiplexing?

    public init(connections: Int) { self.connections = connections }

    /// The TCP connections a loop may open to the target: one per virtual connection, or with HTTP/2 one per
    /// `streams` of them.
    public var tcpConnections: Int {
        guard let http2 else { return connections }
        return (connections + http2.streams - 1) / http2.streams
    }
}

/// HTTP/2 on the curl engine: each loop's virtual connections (its concurrent requests) share TCP connections,
/// `streams` requests at once on each (so `connections / streams` of them, rounded up, per loop thread).
public struct HTTP2Multiplexing: Sendable, Equatable {
    /// Concurrent streams per TCP connection (1…1000).
    public var streams: Int
    /// `http://` targets: HTTP/2 without upgrade (h2c, prior knowledge); `https://` ones negotiate it with ALPN and
    /// fall back to HTTP/1.1 when the server does not offer it (``LoadCompletion/httpVersion`` tells).
    public var priorKnowledge: Bool

    /// Whether this libcurl can reuse a prior-knowledge (h2c) connection: before 8.0.0 it set up a second HTTP/2
    /// layer on a reused one and failed every transfer after the first with error 16 (curl/curl#10634, fixed by
    /// curl/curl#10643; Debian 12 has 7.88.1). HTTP/2 over TLS is not affected.
    public static var libcurlReusesPriorKnowledge: Bool { curl_version_info(CURLVERSION_FIRST).pointee.version_num >= 0x08_00_00 }

    public init(streams: Int, priorKnowledge: Bool) {
        self.streams = max(1, streams)
        self.priorKnowledge = priorKnowledge
    }
}

/// An answer's HTTP version.
public enum HTTPVersion: String, Sendable, Codable, CaseIterable {
    case http1_0 = "1.0"
    case http1_1 = "1.1"
    case http2 = "2"
    case http3 = "3"

    /// From `CURLINFO_HTTP_VERSION` (`CURL_HTTP_VERSION_1_0` = 1 … `CURL_HTTP_VERSION_3` = 30); nil for 0 (none).
    init?(curlInfo value: Int) {
        switch value {
        case 1: self = .http1_0
        case 2: self = .http1_1
        case 3: self = .http2
        case 30: self = .http3
        default: return nil
        }
    }
}

/// The load engines.
public enum LoadEngine: String, Sendable, CaseIterable {
    /// ``CurlLoadLoop``: every request is a libcurl transfer (any HTTP feature libcurl has).
    case curl
    /// ``RawLoop``: libcurl opens the connections; requests are pre-serialised HTTP/1.1 and responses framed
    /// by Happening — a fraction of the CPU per request.
    case raw
}

/// Asks running loops to stop issuing requests (Ctrl-C, a global deadline). Thread-safe.
public final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func stop() { flag.store(true, ordering: .relaxed) }
    public var isStopped: Bool { flag.load(ordering: .relaxed) }
}

/// What a loop did, besides what its schedule recorded.
public struct LoopStatistics: Sendable {
    /// Transfers still in flight when the drain timeout passed or a stop was requested (not recorded).
    public var abandoned = 0
    /// Loop iterations (for profiling the engine itself).
    public var iterations = 0
}

/// Monotonic time in nanoseconds (CLOCK_MONOTONIC; comparable across threads of one process).
public func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
}

/// The libcurl version in use, e.g. `libcurl/7.88.1`.
public func libcurlVersion() -> String {
    String(cString: curl_version()).split(separator: " ").first.map(String.init) ?? "libcurl"
}
