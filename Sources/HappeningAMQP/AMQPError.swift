import Foundation

/// An error from the broker or from this client. Descriptions never include message bodies or passwords.
public struct AMQPError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong.
    public enum Kind: String, Sendable {
        /// Could not connect or log in, or the connection broke.
        case connection
        /// The broker closed the channel or connection (e.g. `PRECONDITION_FAILED`, `NOT_FOUND`).
        case brokerClosed
        /// The broker refused the message (`basic.nack`).
        case nacked
        /// The broker could not route the message to any queue (`basic.return`).
        case unroutable
        /// No confirm arrived within the confirm timeout; the message may or may not be stored.
        case confirmTimeout
        /// The delivery came from an earlier connection; its tag is void and the broker redelivers it.
        case staleDelivery
        /// The client has been shut down.
        case closed
    }

    /// What went wrong.
    public var kind: Kind
    /// The broker's reply code and text, or the library's error string (never message content).
    public var detail: String?

    /// Creates an error; used by the client.
    public init(kind: Kind, detail: String? = nil) {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { "AMQPError(\(kind.rawValue)\(detail.map { ": \($0)" } ?? ""))" }
}
