import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1.1 child channel with ``InlineResponder`` in each connection's pipeline: the same decoder,
/// conversion to HTTP types and idle/quiesce handling (`HTTPConnectionStateHandler`, which so sees every request,
/// answered inline or not), then the inline answers, then the router's async channel.
struct InlineHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let routes: InlineRoutes
    let idleTimeout: Duration?
    /// The largest body collected for an inline answer (a larger one goes to the router, which enforces its limit).
    let maximumBody: Int

    /// The server builder for `Application(server:)`.
    static func builder(routes: InlineRoutes, idleTimeout: Duration?, maximumBody: Int) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            InlineHTTP1Channel(responder: responder, routes: routes, idleTimeout: idleTimeout, maximumBody: maximumBody)
        }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
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
            try pipeline.addHandler(InlineResponder(routes: routes, maximumBody: maximumBody))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}
