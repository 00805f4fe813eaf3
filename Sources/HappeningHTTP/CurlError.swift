import CCurl

/// A transfer that did not produce a response: refused connection, timeout, bad URL, TLS failure …
/// The description names libcurl's error, never the URL's credentials or the body.
public struct CurlError: Error, CustomStringConvertible, Sendable, Equatable {
    /// libcurl's `CURLcode` (or `CURLMcode` for a multi-handle failure).
    public var code: Int
    /// libcurl's text for the code.
    public var message: String

    /// True when the transfer ran out of time.
    public var isTimeout: Bool { code == Int(CURLE_OPERATION_TIMEDOUT.rawValue) }
    /// True when nothing listened at the address.
    public var isConnectionRefused: Bool { code == Int(CURLE_COULDNT_CONNECT.rawValue) }

    public var description: String { "CurlError(\(code): \(message))" }

    package init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    /// `code` with a message of our own.
    package init(_ code: CURLcode, message: String) {
        self.init(code: Int(code.rawValue), message: message)
    }

    /// `code` with libcurl's text for it.
    package init(_ code: CURLcode) {
        self.init(code: Int(code.rawValue), message: String(cString: curl_easy_strerror(code)))
    }
}
