/// An outbound HTTP request.
public struct HTTPClientRequest: Sendable {
    /// `GET`, `POST`, …
    public var method: String
    /// The absolute URL.
    public var url: String
    /// Request headers, in order.
    public var headers: [(name: String, value: String)]
    /// The body, if any.
    public var body: [UInt8]?
    /// The whole exchange (connect, send, receive) must finish within this (``defaultTimeout`` unless told).
    public var timeout: Duration
    /// The timeout of a request made without one: 10 s.
    public static let defaultTimeout: Duration = .seconds(10)
    /// Basic authentication (user, password), e.g. Razorpay's key id and secret. Never logged.
    public var basicAuth: (user: String, password: String)?
    /// How an `https` server's certificate is checked (the system's trust store unless told otherwise).
    public var tls: TLSVerification
    /// Speak HTTP/2 to an `http://` URL without asking first (h2c, prior knowledge: a server that speaks nothing
    /// else); false: libcurl's default (HTTP/1.1 for http, HTTP/2 offered by ALPN for https).
    public var http2PriorKnowledge = false

    /// Creates a request.
    public init(
        method: String = "GET",
        url: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8]? = nil,
        timeout: Duration = HTTPClientRequest.defaultTimeout,
        basicAuth: (user: String, password: String)? = nil,
        tls: TLSVerification = .system
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.basicAuth = basicAuth
        self.tls = tls
    }
}

/// An HTTP response. Any status, 4xx and 5xx included, is a response, not an error.
public struct HTTPClientResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Response headers, in order (names as the server sent them).
    public var headers: [(name: String, value: String)]
    /// The body bytes.
    public var body: [UInt8]

    /// The first header called `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }
}
