import CCurl
import Foundation
import HappeningHTTP
import HappeningSystem

/// One virtual connection of a ``CurlLoadLoop``: an easy handle with the options that never change set once,
/// and a sink for what its responses carry.
///
/// Used only on its loop's thread. The sink is passed to libcurl's callbacks as an unretained pointer; the
/// connection owns it and outlives every transfer (the loop removes in-flight handles before releasing it).
final class LoadConnection {
    let handle: UnsafeMutableRawPointer
    let sink = LoadResponseSink()
    var inFlight: PreparedRequest?
    var intendedStart: UInt64 = 0
    var actualStart: UInt64 = 0
    /// The request whose options are currently set on the handle.
    private var configured: PreparedRequest?

    init(index: Int, options: LoopOptions) throws {
        _ = CurlGlobal.initialized
        guard let handle = curl_easy_init() else { throw CurlError(CURLE_FAILED_INIT, message: "curl_easy_init failed") }
        self.handle = handle
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        try check(happening_curl_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        try check(happening_curl_easy_setopt_long(handle, CURLOPT_TCP_NODELAY, 1))
        if let http2 = options.http2 {
            // CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE (h2c) or CURL_HTTP_VERSION_2TLS (ALPN); PIPEWAIT: wait for a connection
            // that can take one more stream rather than open a new one.
            try check(happening_curl_easy_setopt_long(handle, CURLOPT_HTTP_VERSION, http2.priorKnowledge ? 5 : 4))
            try check(happening_curl_easy_setopt_long(handle, CURLOPT_PIPEWAIT, 1))
        } else {
            try check(happening_curl_easy_setopt_long(handle, CURLOPT_HTTP_VERSION, 2))  // CURL_HTTP_VERSION_1_1
        }
        try check(happening_curl_easy_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(options.requestTimeout.nanoseconds / 1_000_000)))
        try check(happening_curl_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(options.connectTimeout.nanoseconds / 1_000_000)))
        try check(happening_curl_easy_setopt_long(handle, CURLOPT_DNS_CACHE_TIMEOUT, -1))  // resolve once
        try check(happening_curl_easy_setopt_string(handle, CURLOPT_PROXY, ""))
        try check(options.tls.apply(to: handle))
        try check(happening_curl_easy_setopt_long(handle, CURLOPT_BUFFERSIZE, 8_192))  // no proxy, and no proxy variables read per request
        try check(happening_curl_easy_setopt_pointer(handle, CURLOPT_PRIVATE, UnsafeMutableRawPointer(bitPattern: index)))
        try check(happening_curl_easy_setopt_callback(handle, CURLOPT_WRITEFUNCTION, loadWriteBody))
        try check(happening_curl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, sinkPointer))
        try check(happening_curl_easy_setopt_callback(handle, CURLOPT_HEADERFUNCTION, loadWriteHeader))
        try check(happening_curl_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, sinkPointer))
    }

    deinit { curl_easy_cleanup(handle) }

    /// Sets `request`'s own options, unless they are already set.
    func prepare(_ request: PreparedRequest) throws {
        sink.capture = request.capturesBody
        if configured === request { return }
        configured = request
        try check(happening_curl_easy_setopt_string(handle, CURLOPT_URL, request.urlC))
        try check(happening_curl_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, request.headerList))
        if request.isGet {
            try check(happening_curl_easy_setopt_string(handle, CURLOPT_CUSTOMREQUEST, nil))
            try check(happening_curl_easy_setopt_long(handle, CURLOPT_HTTPGET, 1))
            return
        }
        let body = request.body
        try check(happening_curl_easy_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body?.count ?? 0)))
        try check(happening_curl_easy_setopt_pointer(handle, CURLOPT_POSTFIELDS, body?.baseAddress))
        try check(happening_curl_easy_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.methodC))
    }

    private func check(_ code: CURLcode) throws {
        guard code == CURLE_OK else { throw CurlError(code) }
    }
}

/// What one response carried: body size, the body itself when asked, the `X-Cache` verdict, and (with the body) the
/// `X-Request-Id`.
final class LoadResponseSink {
    var bodyBytes = 0
    var capture = false
    var captured: [UInt8] = []
    var cacheHit: Bool?
    var requestID: String?

    init() { captured.reserveCapacity(4096) }

    func reset() {
        bodyBytes = 0
        cacheHit = nil
        requestID = nil
        captured.removeAll(keepingCapacity: true)
    }
}

private func loadWriteBody(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?) -> Int {
    let length = size * count
    guard let data, let user else { return length }
    let sink = Unmanaged<LoadResponseSink>.fromOpaque(user).takeUnretainedValue()
    sink.bodyBytes += length
    if sink.capture, sink.captured.count < 65_536 {
        sink.captured.append(contentsOf: UnsafeRawBufferPointer(start: data, count: min(length, 65_536 - sink.captured.count)))
    }
    return length
}

/// Looks for `X-Cache: HIT` (case-insensitive name) without building strings, and for `X-Request-Id` when the body is kept.
private func loadWriteHeader(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?) -> Int {
    let length = size * count
    guard let data, let user, length >= 8 else { return length }
    let bytes = UnsafeRawBufferPointer(start: data, count: length)
    let sink = Unmanaged<LoadResponseSink>.fromOpaque(user).takeUnretainedValue()
    if sink.capture, let value = headerValue(bytes, named: "x-request-id:") {
        sink.requestID = value
        return length
    }
    let name: [UInt8] = [0x78, 0x2D, 0x63, 0x61, 0x63, 0x68, 0x65, 0x3A]  // "x-cache:"
    for i in 0..<8 where bytes[i] | 0x20 != name[i] && !(i == 1 && bytes[i] == 0x2D) && !(i == 7 && bytes[i] == 0x3A) { return length }
    var index = 8
    while index < length, bytes[index] == 0x20 { index += 1 }
    sink.cacheHit = length - index >= 3 && bytes[index] | 0x20 == 0x68 && bytes[index + 1] | 0x20 == 0x69 && bytes[index + 2] | 0x20 == 0x74
    return length
}

/// The value of a header line `bytes` when its name (lowercase, with the colon) is `name`, without the line's end.
private func headerValue(_ bytes: UnsafeRawBufferPointer, named name: StaticString) -> String? {
    let count = name.utf8CodeUnitCount
    guard bytes.count > count else { return nil }
    for offset in 0..<count where bytes[offset] | 0x20 != name.utf8Start[offset] | 0x20 { return nil }
    var end = bytes.count
    while end > count, [0x0D, 0x0A, 0x20, 0x09].contains(bytes[end - 1]) { end -= 1 }
    var start = count
    while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
    return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
}
