import CCurl
import HappeningHTTP

/// Opens a ``RawLoop``'s `CONNECT_ONLY` connections through one libcurl multi handle per loop, instead of
/// `curl_easy_perform` per connection, which gives every easy handle a private multi handle of its own, with a
/// wake-up socket pair: three descriptors and ~16 KiB per open connection instead of one and ~10 KiB (measured with
/// libcurl 7.88 against nginx, 2,000 connections). A connected handle stays added to this multi handle:
/// `curl_easy_send` and `curl_easy_recv` find its connection in the multi handle's cache (libcurl's
/// `Curl_getconnectinfo`), and removing the handle closes it.
///
/// Used on its loop's thread only.
final class RawConnector {
    private let multi: UnsafeMutableRawPointer

    /// `connections`: how many stay open at once (the multi handle's connection cache must hold them all, or it would
    /// close the oldest).
    init(connections: Int) throws {
        guard let multi = curl_multi_init() else { throw CurlError(CURLE_FAILED_INIT, message: "curl_multi_init failed") }
        self.multi = multi
        _ = happening_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, connections * 2 + 16)
    }

    deinit { curl_multi_cleanup(multi) }

    /// Connects `handle` (set up with `CURLOPT_CONNECT_ONLY`), blocking until it is connected or failed (its
    /// `CURLOPT_CONNECTTIMEOUT_MS` bounds it); on failure the handle is no longer added.
    func connect(_ handle: UnsafeMutableRawPointer) -> Bool {
        // An open connection is never "too old" to keep (libcurl's default is 118 s of idleness).
        _ = happening_curl_easy_setopt_long(handle, CURLOPT_MAXAGE_CONN, 1_000_000_000)
        guard curl_multi_add_handle(multi, handle) == CURLM_OK else { return false }
        var result: CURLcode?
        while result == nil {
            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi, &queued) {
                if message.pointee.msg == CURLMSG_DONE, message.pointee.easy_handle == handle { result = message.pointee.data.result }
            }
            if result == nil { curl_multi_poll(multi, nil, 0, 100, nil) }
        }
        guard result == CURLE_OK else {
            curl_multi_remove_handle(multi, handle)
            return false
        }
        return true
    }

    /// Closes `handle`'s connection and forgets the handle (call before `curl_easy_cleanup`).
    func remove(_ handle: UnsafeMutableRawPointer) { curl_multi_remove_handle(multi, handle) }
}
