import CRabbitMQ
import Foundation
import HappeningSystem

/// Owns one rabbitmq-c connection (`amqp_connection_state_t`) with channel 1 open, and makes the blocking
/// librabbitmq calls on it. Every C call of this module lives in this file.
///
/// `@unchecked Sendable` is safe because the owner serialises all use: the publisher calls it only from its
/// private serial queue, the consumer only from its own thread. No two threads touch the state at once,
/// as rabbitmq-c requires. The state is private and destroyed exactly once in `deinit`.
final class RabbitConnection: @unchecked Sendable {
    private let state: amqp_connection_state_t
    private let channel: amqp_channel_t = 1
    /// Set once the connection is unusable; the owner then opens a new one.
    private(set) var isBroken = false

    /// Connects, logs in and opens channel 1 (blocking).
    init(configuration: AMQPConfiguration, heartbeat: Int) throws {
        guard let state = amqp_new_connection() else { throw AMQPError(kind: .connection, detail: "out of memory") }
        self.state = state
        guard let socket = amqp_tcp_socket_new(state) else { throw AMQPError(kind: .connection, detail: "no socket") }
        var timeout = configuration.connectTimeout.timeval
        let status = amqp_socket_open_noblock(socket, configuration.host, Int32(configuration.port), &timeout)
        guard status == AMQP_STATUS_OK.rawValue else { throw Self.libraryError(status) }
        let login = happening_amqp_login_plain(
            state, configuration.virtualHost, 0, 131_072, Int32(heartbeat), configuration.user, configuration.password)
        try check(login, "login")
        amqp_channel_open(state, channel)
        try check(amqp_get_rpc_reply(state), "channel.open")
        var rpcTimeout = configuration.connectTimeout.timeval
        amqp_set_rpc_timeout(state, &rpcTimeout)
    }

    deinit {
        if !isBroken {
            amqp_channel_close(state, channel, Int32(AMQP_REPLY_SUCCESS))
            amqp_connection_close(state, Int32(AMQP_REPLY_SUCCESS))
        }
        amqp_destroy_connection(state)
    }

    /// The socket, for `poll`.
    var socket: Int32 { amqp_socket_get_sockfd(amqp_get_socket(state)) }

    /// True when frames or bytes are already buffered, so a read will not block.
    var hasBufferedInput: Bool { amqp_frames_enqueued(state) != 0 || amqp_data_in_buffer(state) != 0 }

    /// The publisher talks only when it publishes, so anything readable while idle is the broker closing
    /// the connection (or a heartbeat it will not answer): treat it as dead.
    func isAliveWhenIdle() -> Bool {
        guard !isBroken else { return false }
        var pfd = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        return poll(&pfd, 1, 0) == 0 && !hasBufferedInput
    }

    // MARK: Topology

    /// Declares the durable dead-letter queue, then the durable work queue whose rejected messages go there.
    func declare(_ queue: AMQPQueue) throws {
        let arena = ByteArena()
        amqp_queue_declare(state, channel, arena.bytes(queue.deadLetterQueue), 0, 1, 0, 0, amqp_empty_table)
        try check(amqp_get_rpc_reply(state), "queue.declare")
        let entries = UnsafeMutablePointer<amqp_table_entry_t>.allocate(capacity: 2)
        defer { entries.deallocate() }
        happening_amqp_table_set_string(&entries[0], arena.bytes("x-dead-letter-exchange"), arena.bytes(""))
        happening_amqp_table_set_string(&entries[1], arena.bytes("x-dead-letter-routing-key"), arena.bytes(queue.deadLetterQueue))
        let arguments = amqp_table_t(num_entries: 2, entries: entries)
        amqp_queue_declare(state, channel, arena.bytes(queue.name), 0, 1, 0, 0, arguments)
        try check(amqp_get_rpc_reply(state), "queue.declare")
    }

    /// Deletes every message in a queue; returns how many there were.
    func purge(_ queue: String) throws -> Int {
        let arena = ByteArena()
        let ok = amqp_queue_purge(state, channel, arena.bytes(queue))
        try check(amqp_get_rpc_reply(state), "queue.purge")
        return Int(ok?.pointee.message_count ?? 0)
    }

    /// Deletes a queue and the messages in it.
    func delete(_ queue: String) throws {
        let arena = ByteArena()
        amqp_queue_delete(state, channel, arena.bytes(queue), 0, 0)
        try check(amqp_get_rpc_reply(state), "queue.delete")
    }

    /// The number of ready messages in a queue (passive declare).
    func messageCount(_ queue: String) throws -> Int {
        let arena = ByteArena()
        let ok = amqp_queue_declare(state, channel, arena.bytes(queue), 1, 0, 0, 0, amqp_empty_table)
        try check(amqp_get_rpc_reply(state), "queue.declare")
        return Int(ok?.pointee.message_count ?? 0)
    }

    // MARK: Publishing

    /// Puts the channel in confirm mode: every publish is then acked (or nacked) by the broker.
    func enableConfirms() throws {
        amqp_confirm_select(state, channel)
        try check(amqp_get_rpc_reply(state), "confirm.select")
    }

    /// Publishes one persistent, mandatory message to the default exchange (routing key = queue name).
    func publish(_ message: AMQPMessage, to queue: String) throws {
        let arena = ByteArena()
        var properties = amqp_basic_properties_t()
        properties._flags = amqp_flags_t(AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG)
        properties.delivery_mode = 2  // persistent
        properties.content_type = arena.bytes(message.contentType)
        properties.message_id = arena.bytes(message.id)
        let status = amqp_basic_publish(
            state, channel, arena.bytes(""), arena.bytes(queue), 1, 0, &properties, arena.bytes(message.body))
        guard status == AMQP_STATUS_OK.rawValue else {
            isBroken = true
            throw Self.libraryError(status)
        }
    }

    /// What the broker said about published messages.
    enum ConfirmEvent {
        case ack(tag: UInt64, multiple: Bool)
        case nack(tag: UInt64, multiple: Bool)
        /// A mandatory message no queue would take, identified by its message id.
        case returned(messageID: String)
    }

    /// Waits up to `timeout` for the next confirm-related frame; nil on timeout.
    func nextConfirmEvent(timeout: Duration) throws -> ConfirmEvent? {
        var frame = amqp_frame_t()
        var tv = timeout.timeval
        let status = amqp_simple_wait_frame_noblock(state, &frame, &tv)
        if status == AMQP_STATUS_TIMEOUT.rawValue { return nil }
        guard status == AMQP_STATUS_OK.rawValue else {
            isBroken = true
            throw Self.libraryError(status)
        }
        guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { return try nextConfirmEvent(timeout: timeout) }
        switch frame.payload.method.id {
        case MethodID.basicAck:
            let ack = frame.payload.method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            return .ack(tag: ack.delivery_tag, multiple: ack.multiple != 0)
        case MethodID.basicNack:
            let nack = frame.payload.method.decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            return .nack(tag: nack.delivery_tag, multiple: nack.multiple != 0)
        case MethodID.basicReturn:
            var message = amqp_message_t()
            let reply = amqp_read_message(state, channel, &message, 0)
            defer { amqp_destroy_message(&message) }
            try check(reply, "basic.return")
            return .returned(messageID: message.properties.message_id.string)
        default:
            throw brokerClosed(frame)
        }
    }

    // MARK: Consuming

    /// Sets the prefetch (how many unacked deliveries the broker sends) and starts consuming `queue`.
    func startConsuming(_ queue: String, prefetch: Int) throws -> String {
        amqp_basic_qos(state, channel, 0, UInt16(clamping: prefetch), 0)
        try check(amqp_get_rpc_reply(state), "basic.qos")
        let arena = ByteArena()
        let ok = amqp_basic_consume(state, channel, arena.bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table)
        try check(amqp_get_rpc_reply(state), "basic.consume")
        return ok?.pointee.consumer_tag.string ?? ""
    }

    /// Stops deliveries to `consumerTag` (messages already delivered stay ours to ack).
    func stopConsuming(_ consumerTag: String) throws {
        let arena = ByteArena()
        amqp_basic_cancel(state, channel, arena.bytes(consumerTag))
        try check(amqp_get_rpc_reply(state), "basic.cancel")
    }

    /// Waits up to `timeout` for the next delivery; nil on timeout.
    func nextDelivery(timeout: Duration) throws -> (tag: UInt64, redelivered: Bool, messageID: String, body: [UInt8])? {
        amqp_maybe_release_buffers(state)
        var envelope = amqp_envelope_t()
        var tv = timeout.timeval
        let reply = amqp_consume_message(state, &envelope, &tv, 0)
        if reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION, reply.library_error == AMQP_STATUS_TIMEOUT.rawValue { return nil }
        if reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION, reply.library_error == AMQP_STATUS_UNEXPECTED_STATE.rawValue {
            // A frame other than a delivery: usually the broker closing the channel or cancelling us.
            var frame = amqp_frame_t()
            let status = amqp_simple_wait_frame(state, &frame)
            guard status == AMQP_STATUS_OK.rawValue else {
                isBroken = true
                throw Self.libraryError(status)
            }
            if frame.frame_type == UInt8(AMQP_FRAME_METHOD) { throw brokerClosed(frame) }
            return nil
        }
        try check(reply, "basic.consume")
        defer { amqp_destroy_envelope(&envelope) }
        let body = envelope.message.body
        return (
            envelope.delivery_tag,
            envelope.redelivered != 0,
            envelope.message.properties.message_id.string,
            body.len == 0 ? [] : Array(UnsafeRawBufferPointer(start: body.bytes, count: body.len))
        )
    }

    /// Acknowledges one delivery.
    func ack(_ tag: UInt64) throws {
        try checkStatus(amqp_basic_ack(state, channel, tag, 0))
    }

    /// Negatively acknowledges one delivery; `requeue` puts it back in the queue, else it is dead-lettered.
    func nack(_ tag: UInt64, requeue: Bool) throws {
        try checkStatus(amqp_basic_nack(state, channel, tag, 0, requeue ? 1 : 0))
    }

    /// Rejects one delivery to the dead-letter queue.
    func reject(_ tag: UInt64) throws {
        try checkStatus(amqp_basic_reject(state, channel, tag, 0))
    }

    // MARK: Errors

    private func checkStatus(_ status: Int32) throws {
        guard status == AMQP_STATUS_OK.rawValue else {
            isBroken = true
            throw Self.libraryError(status)
        }
    }

    private func check(_ reply: amqp_rpc_reply_t, _ operation: String) throws {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            isBroken = true
            throw AMQPError(kind: .connection, detail: "\(operation): \(String(cString: amqp_error_string2(reply.library_error)))")
        default:
            isBroken = true
            if reply.reply.id == MethodID.connectionClose || reply.reply.id == MethodID.channelClose {
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
                throw AMQPError(kind: .brokerClosed, detail: "\(operation): \(close.reply_code) \(close.reply_text.string)")
            }
            throw AMQPError(kind: .brokerClosed, detail: operation)
        }
    }

    private func brokerClosed(_ frame: amqp_frame_t) -> AMQPError {
        isBroken = true
        let id = frame.payload.method.id
        if id == MethodID.connectionClose || id == MethodID.channelClose {
            // channel.close and connection.close start with the same fields (reply code, reply text).
            let close = frame.payload.method.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            return AMQPError(kind: .brokerClosed, detail: "\(close.reply_code) \(close.reply_text.string)")
        }
        return AMQPError(kind: .brokerClosed, detail: "unexpected method 0x\(String(id, radix: 16))")
    }

    static func libraryError(_ status: Int32) -> AMQPError {
        AMQPError(kind: .connection, detail: String(cString: amqp_error_string2(status)))
    }
}

/// AMQP method ids (the C macros carry casts Swift does not import).
private enum MethodID {
    static let connectionClose: amqp_method_number_t = 0x000A_0032
    static let channelClose: amqp_method_number_t = 0x0014_0028
    static let basicReturn: amqp_method_number_t = 0x003C_0032
    static let basicAck: amqp_method_number_t = 0x003C_0050
    static let basicNack: amqp_method_number_t = 0x003C_0078
}

/// Owns copies of the bytes handed to rabbitmq-c for one call. `amqp_cstring_bytes` on a Swift string
/// would point into a temporary buffer, so every `amqp_bytes_t` here points into memory this arena owns
/// until it is released.
private final class ByteArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    func bytes(_ string: String) -> amqp_bytes_t { bytes(Array(string.utf8)) }

    func bytes(_ array: [UInt8]) -> amqp_bytes_t {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(1, array.count), alignment: 1)
        if !array.isEmpty { array.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: array.count) } }
        allocations.append(memory)
        return amqp_bytes_t(len: array.count, bytes: memory)
    }

    deinit { allocations.forEach { $0.deallocate() } }
}

extension amqp_bytes_t {
    /// The bytes as UTF-8 text.
    var string: String {
        guard len > 0, let bytes else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: len), as: UTF8.self)
    }
}
