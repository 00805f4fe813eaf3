import Logging

/// A `LogHandler` that keeps every message at or above its level, so a test can wait on what a component
/// says it did ("jobs returned to the queue") instead of sleeping for it.
public struct RecordingLogHandler: LogHandler {
    /// The messages so far, oldest first.
    public let messages: LockedValue<[String]>
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]

    /// A logger whose handler records into `messages`.
    public static func logger(level: Logger.Level = .warning) -> (Logger, LockedValue<[String]>) {
        let messages = LockedValue<[String]>([])
        return (Logger(label: "recording") { _ in RecordingLogHandler(messages: messages, logLevel: level) }, messages)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        messages.withLock { $0.append(message.description) }
    }
}
