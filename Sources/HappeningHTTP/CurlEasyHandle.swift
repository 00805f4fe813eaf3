import CCurl
import Foundation
import HappeningPool
import HappeningSystem

/// Owns one libcurl easy handle (`CURL *`), reused across requests so keep-alive connections are kept.
///
/// `@unchecked Sendable` is safe because libcurl requires that a handle be used by one thread at a time,
/// and the pool guarantees it: a handle is lent to one task, its transfer runs on one thread of the
/// client's pool, and the next request on it starts only after the previous `curl_easy_perform` returned.
/// The handle is private and cleaned up exactly once in `deinit`.
final class CurlEasyHandle: PoolableConnection, @unchecked Sendable {
    private let handle: UnsafeMutableRawPointer

    init() throws {
        _ = CurlGlobal.initialized
        guard let handle = curl_easy_init() else { throw CurlError(CURLE_FAILED_INIT, message: "curl_easy_init failed") }
        self.handle = handle
    }

    deinit { curl_easy_cleanup(handle) }

    var isReusable: Bool { true }
    /// libcurl checks and replaces dead keep-alive connections itself.
    func isAliveWhenIdle() -> Bool { true }

    /// Performs one request (blocking).
    func perform(_ request: HTTPClientRequest) throws -> HTTPClientResponse {
        curl_easy_reset(handle)
        let sink = ResponseSink()
        let unmanaged = Unmanaged.passRetained(sink)
        defer { unmanaged.release() }
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }

        try set(CURLOPT_URL, request.url)
        try set(CURLOPT_CUSTOMREQUEST, request.method)
        if request.method == "HEAD" { try set(CURLOPT_NOBODY, 1) }
        try set(CURLOPT_NOSIGNAL, 1)  // required for timeouts in threaded programs
        try set(CURLOPT_TIMEOUT_MS, request.timeout.milliseconds)
        try set(CURLOPT_CONNECTTIMEOUT_MS, min(request.timeout.milliseconds, 5_000))
        try set(CURLOPT_FOLLOWLOCATION, 0)
        try set(CURLOPT_ACCEPT_ENCODING, "")
        try check(request.tls.apply(to: handle))
        try set(CURLOPT_HTTP_VERSION, request.http2PriorKnowledge ? 5 : 0)  // CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE or NONE
        if let auth = request.basicAuth {
            try set(CURLOPT_HTTPAUTH, 1)  // CURLAUTH_BASIC (a macro Swift does not import)
            try set(CURLOPT_USERNAME, auth.user)
            try set(CURLOPT_PASSWORD, auth.password)
        }
        for header in request.headers {
            headerList = curl_slist_append(headerList, "\(header.name): \(header.value)")
        }
        if request.body != nil { headerList = curl_slist_append(headerList, "Expect:") }  // no 100-continue wait
        try check(happening_curl_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))
        try check(happening_curl_easy_setopt_callback(handle, CURLOPT_WRITEFUNCTION, curlWriteBody))
        try check(happening_curl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, unmanaged.toOpaque()))
        try check(happening_curl_easy_setopt_callback(handle, CURLOPT_HEADERFUNCTION, curlWriteHeader))
        try check(happening_curl_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, unmanaged.toOpaque()))

        let result: CURLcode = try (request.body ?? []).withUnsafeBytes { body in
            if request.body != nil {
                try check(happening_curl_easy_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
                try check(
                    happening_curl_easy_setopt_pointer(
                        handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: body.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!)))
            }
            return curl_easy_perform(handle)
        }
        try check(result)
        var status = 0
        try check(happening_curl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status))
        return HTTPClientResponse(status: status, headers: sink.headers, body: sink.body)
    }

    private func set(_ option: CURLoption, _ value: String) throws {
        try check(happening_curl_easy_setopt_string(handle, option, value))
    }

    private func set(_ option: CURLoption, _ value: Int) throws {
        try check(happening_curl_easy_setopt_long(handle, option, value))
    }

    private func check(_ code: CURLcode) throws {
        guard code == CURLE_OK else {
            throw CurlError(code)
        }
    }
}

/// Collects a response's headers and body from libcurl's callbacks (which run on the transfer's thread).
private final class ResponseSink {
    var body: [UInt8] = []
    var headers: [(name: String, value: String)] = []

    func addHeaderLine(_ line: String) {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("HTTP/") {
            headers.removeAll()
            return
        }  // a new response (e.g. after 100 Continue)
        guard let colon = trimmed.firstIndex(of: ":") else { return }
        headers.append((String(trimmed[..<colon]), trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
    }
}

private func curlWriteBody(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?) -> Int {
    guard let data, let user else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(user).takeUnretainedValue()
    sink.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: size * count))
    return size * count
}

private func curlWriteHeader(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?) -> Int {
    guard let data, let user else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(user).takeUnretainedValue()
    sink.addHeaderLine(String(decoding: UnsafeRawBufferPointer(start: data, count: size * count), as: UTF8.self))
    return size * count
}

/// `curl_global_init`, done once per process before the first handle (Swift runs a global's
/// initialiser exactly once, thread-safely).
package enum CurlGlobal {
    package static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
}
