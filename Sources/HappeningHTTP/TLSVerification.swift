import CCurl

/// How a client checks an `https` server's certificate. Checks are on unless a caller says otherwise.
public enum TLSVerification: Sendable, Equatable {
    /// The system's trust store (the default).
    case system
    /// Trust the certificates in this PEM file instead (a test's own authority, a staging CA).
    case caFile(String)
    /// No check of the certificate or the host name (`--insecure`): for a self-signed target you do not control.
    case off

    /// Sets libcurl's verification options on `handle`.
    package func apply(to handle: UnsafeMutableRawPointer) -> CURLcode {
        let verify = self == .off ? 0 : 1
        var code = happening_curl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, verify)
        if code == CURLE_OK { code = happening_curl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, verify * 2) }
        if code == CURLE_OK, case .caFile(let path) = self { code = happening_curl_easy_setopt_string(handle, CURLOPT_CAINFO, path) }
        return code
    }
}
