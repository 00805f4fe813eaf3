import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1.1 child channel with ``InlineResponder`` in each connection's pipeline: the same decoder,
/// conversion to HTTP types and idle/quiesce handling (`HTTPConnectionStateHandler`, which so sees every request,
/// answered inline or not), then the inline answers, then — made when the first request needs it — the router's
/// async channel and its task.
///
/// A connection whose requests are all answered inline (a sale's buyers, refused from memory) never gets an async
/// channel or a task of its own: Hummingbird's task for it ends at once, and its close is a plain close on the event
/// loop (the async channel's close, a task wake-up and hops, was more than half of such a connection's cost).
struct InlineHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    /// A connection as Hummingbird's server holds it: only its channel (its router side, if any, is in a task of its own).
    struct Connection: ServerChildChannelValue {
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    let routes: InlineRoutes
    let idleTimeout: Duration?
    /// The largest body collected for an inline answer (a larger one goes to the router, which enforces its limit).
    let maximumBody: Int
    /// Each event loop's bookings being decided by the intake, and those waiting their turn.
    let turns: IntakeTurnsByLoop

    /// The server builder for `Application(server:)`.
    static func builder(routes: InlineRoutes, idleTimeout: Duration?, maximumBody: Int, turns: IntakeTurnsByLoop) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            InlineHTTP1Channel(responder: responder, routes: routes, idleTimeout: idleTimeout, maximumBody: maximumBody, turns: turns)
        }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Connection> {
        channel.eventLoop.makeCompletedFuture {
            // Hummingbird's HTTP1Channel limits.
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = 80 * 1024
            limits.maxHeaderListSize = 80 * 1024
            limits.maxHeaderFieldCount = 1000
            let pipeline = channel.pipeline.syncOperations
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: false,  // the async channel reads one request at a time
                withErrorHandling: false,  // Hummingbird's handler answers parse errors
                withOutboundHeaderValidation: false,  // HTTP types validate headers already
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: limits)
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger))
            try pipeline.addHandler(
                InlineResponder(routes: routes, maximumBody: maximumBody, turns: turns.turns(on: channel.eventLoop)) { [self] channel in
                    try startRouter(on: channel, logger: logger)
                })
            return Connection(channel: channel)
        }
    }

    /// The router's side of a connection, made on its event loop when the first request needs it: the async channel
    /// (its handlers after ``InlineResponder``) and the task that serves it.
    private func startRouter(on channel: any Channel, logger: Logger) throws {
        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        Task { await handleHTTP(asyncChannel: asyncChannel, logger: logger) }
    }

    /// Nothing to wait for: a connection's router side, when it needs one, runs in a task of its own.
    func handle(value: Connection, logger: Logger) async {}
}
