import Foundation

/// How the AMQP publisher and consumer connect.
///
/// | property | default | meaning |
/// |---|---|---|
/// | `host`, `port`, `user`, `password`, `virtualHost` | from `url` | `amqp://user:pass@host:port/vhost` (`AMQP_URL`; `%2f` is `/`) |
/// | `connectTimeout` | 5 s | TCP connect and login limit |
/// | `confirmTimeout` | 10 s | how long a publish waits for the broker's ack before it throws |
/// | `heartbeat` | 30 s | AMQP heartbeat the consumer negotiates (the publisher checks its socket instead) |
/// | `reconnectBackoff`, `maximumBackoff` | 0.1 s doubling to 2 s | delay between reconnect attempts (a broker back from a restart is used again within 2 s) |
public struct AMQPConfiguration: Sendable {
    /// Broker address.
    public var host: String
    /// Broker port.
    public var port: Int
    /// Login user.
    public var user: String
    /// Login password. Never logged.
    public var password: String
    /// Virtual host.
    public var virtualHost: String
    /// TCP connect and login limit.
    public var connectTimeout: Duration
    /// How long a publish waits for the broker's ack.
    public var confirmTimeout: Duration
    /// AMQP heartbeat for consumers, in seconds (0 disables).
    public var heartbeat: Int
    /// First reconnect delay; it doubles up to ``maximumBackoff``.
    public var reconnectBackoff: Duration
    /// Longest reconnect delay.
    public var maximumBackoff: Duration

    /// Errors reading an AMQP URL.
    public struct InvalidURL: Error, CustomStringConvertible {
        public var description: String { "AMQP_URL must look like amqp://user:password@host:port/vhost" }
    }

    /// Parses `amqp://user:password@host[:port][/vhost]`; see the table above for the other defaults.
    public init(
        url: String,
        connectTimeout: Duration = .seconds(5),
        confirmTimeout: Duration = .seconds(10),
        heartbeat: Int = 30,
        reconnectBackoff: Duration = .milliseconds(100),
        maximumBackoff: Duration = .seconds(2)
    ) throws {
        guard let components = URLComponents(string: url), components.scheme == "amqp",
            let host = components.host, !host.isEmpty
        else { throw InvalidURL() }
        self.host = host
        self.port = components.port ?? 5672
        self.user = components.user?.removingPercentEncoding ?? "guest"
        self.password = components.password?.removingPercentEncoding ?? "guest"
        let path = components.percentEncodedPath
        let vhost = path.hasPrefix("/") ? String(path.dropFirst()) : path
        self.virtualHost = vhost.isEmpty ? "/" : (vhost.removingPercentEncoding ?? vhost)
        self.connectTimeout = connectTimeout
        self.confirmTimeout = confirmTimeout
        self.heartbeat = heartbeat
        self.reconnectBackoff = reconnectBackoff
        self.maximumBackoff = maximumBackoff
    }
}

/// A durable work queue and the dead-letter queue its rejected messages go to.
///
/// Declared (idempotently) by both the publisher and the consumer on every (re)connect, so whichever
/// starts first creates it. Messages rejected without requeue are routed by the default exchange to
/// ``deadLetterQueue``.
public struct AMQPQueue: Sendable, Hashable {
    /// The work queue, e.g. `booking_jobs`.
    public var name: String
    /// Where rejected messages go, e.g. `booking_jobs.dlq`.
    public var deadLetterQueue: String

    /// A queue and its dead-letter queue (`<name>.dlq` by default).
    public init(name: String, deadLetterQueue: String? = nil) {
        self.name = name
        self.deadLetterQueue = deadLetterQueue ?? name + ".dlq"
    }
}
