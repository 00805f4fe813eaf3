/// A transfer that did not produce a response: refused connection, timeout, bad URL, TLS failure …
/// The description names libcurl's error, never the URL's credentials or the body.
public struct CurlError: Error, CustomStringConvertible, Sendable, Equatable {
    /// libcurl's `CURLcode`.
    public var code: Int
    /// libcurl's text for the code.
    public var message: String

    /// True when the transfer ran out of time.
    public var isTimeout: Bool { code == 28 }  // CURLE_OPERATION_TIMEDOUT
    /// True when nothing listened at the address.
    public var isConnectionRefused: Bool { code == 7 }  // CURLE_COULDNT_CONNECT

    public var description: String { "CurlError(\(code): \(message))" }
}
