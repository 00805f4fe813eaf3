import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Sits in each connection's pipeline between the HTTP decoding and the router's channel: a request
/// ``InlineRoutes`` can answer from memory is answered here, on the event loop, and never reaches the router; every
/// other request passes on unchanged.
///
/// A booking the intake must decide is decided off the event loop (``InlineRoutes/deferredBooking(_:body:)``) and
/// answered here when done; until then the connection's later requests wait in ``held`` and no more is read (its
/// `read` is held back), so nothing is answered out of turn and a pipelining client cannot grow the buffer.
///
/// Answers leave in request order: while a request passed on has not had the end of its answer written
/// (``passedOn`` > 0), later requests pass on too (HTTP/1.1 pipelining). A request's body is collected (up to
/// ``maximumBody``; a larger one passes on as it came) before it is answered. Answers are flushed once per read
/// (at `channelReadComplete`), so pipelined requests share one `write`.
final class InlineResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        case idle
        case collecting(HTTPRequest, ByteBuffer?)
        case passing
    }

    private let routes: InlineRoutes
    private let maximumBody: Int
    private var state = State.idle
    /// Requests passed on whose answer's end has not been written yet.
    private var passedOn = 0
    private var unflushed = false
    /// True while a deferred answer is being decided; parts that arrive meanwhile wait in `held`.
    private var deciding = false
    private var held: [HTTPRequestPart] = []
    /// A `read` asked for while deciding, made once the answer is written.
    private var readHeldBack = false
    /// The client half-closed while deciding: passed on once the answer is written.
    private var inputClosedHeld = false

    init(routes: InlineRoutes, maximumBody: Int) {
        self.routes = routes
        self.maximumBody = maximumBody
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case ChannelEvent.inputClosed = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // The client's half-close ends the router's loop, which then closes the connection: not before an answer
        // being decided has been written.
        if deciding { inputClosedHeld = true } else { context.fireUserInboundEventTriggered(event) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        handle(unwrapInboundIn(data), context: context)
    }

    private func handle(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        if deciding {
            held.append(part)
            return
        }
        let data = wrapInboundOut(part)
        switch (state, part) {
        case (.idle, .head(let head)):
            if passedOn == 0, routes.mayAnswer(head) {
                state = .collecting(head, nil)
            } else {
                passOn(head, body: nil, context: context)
            }
        case (.collecting(let head, var body), .body(let chunk)):
            if (body?.readableBytes ?? 0) + chunk.readableBytes > maximumBody {
                passOn(head, body: body, context: context)
                context.fireChannelRead(data)
            } else {
                state = .idle  // drops the state's reference before the append, so the buffer is not copied
                if body == nil { body = chunk } else { body!.writeImmutableBuffer(chunk) }
                state = .collecting(head, body)
            }
        case (.collecting(let head, let body), .end):
            state = .idle
            if let answer = routes.answer(head, body: body ?? ByteBuffer()) {
                write(answer, closing: Self.asksToClose(head), context: context)
            } else if let decide = routes.deferredBooking(head, body: body ?? ByteBuffer()) {
                decideOffTheLoop(decide, closing: Self.asksToClose(head), context: context)
            } else {
                passOn(head, body: body, context: context)
                state = .idle
                context.fireChannelRead(data)
            }
        case (.passing, .end):
            state = .idle
            context.fireChannelRead(data)
        default:
            context.fireChannelRead(data)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if unflushed {
            unflushed = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if deciding { readHeldBack = true } else { context.read() }
    }

    /// Decides off the event loop (on the intake's executor), then writes the answer and goes on with what waited.
    private func decideOffTheLoop(_ decide: @escaping @Sendable () async -> InlineRoutes.Answer, closing: Bool, context: ChannelHandlerContext) {
        deciding = true
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        let deliver: @Sendable (InlineRoutes.Answer) -> Void = { answer in
            loop.execute { bound.value.0.delivered(answer, closing: closing, context: bound.value.1) }
        }
        if let executor = routes.intakeExecutor {
            Task(executorPreference: executor) { deliver(await decide()) }
        } else {
            Task { deliver(await decide()) }
        }
    }

    private func delivered(_ answer: InlineRoutes.Answer, closing: Bool, context: ChannelHandlerContext) {
        deciding = false
        write(answer, closing: closing, context: context)
        if unflushed {
            unflushed = false
            context.flush()
        }
        guard !closing else { return }
        let waiting = held
        held = []
        for part in waiting { handle(part, context: context) }
        if unflushed {
            unflushed = false
            context.flush()
        }
        if inputClosedHeld, !deciding {
            inputClosedHeld = false
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
        if readHeldBack, !deciding {
            readHeldBack = false
            context.read()
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { passedOn -= 1 }
        context.write(data, promise: promise)
    }

    /// Hands a request (and what arrived of its body) to the router's channel.
    private func passOn(_ head: HTTPRequest, body: ByteBuffer?, context: ChannelHandlerContext) {
        passedOn += 1
        state = .passing
        context.fireChannelRead(wrapInboundOut(.head(head)))
        if let body { context.fireChannelRead(wrapInboundOut(.body(body))) }
    }

    private func write(_ answer: InlineRoutes.Answer, closing: Bool, context: ChannelHandlerContext) {
        var headers = answer.headers
        headers[.contentLength] = String(answer.body.readableBytes)
        if closing { headers[.connection] = "close" }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: answer.status, headerFields: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(answer.body)), promise: nil)
        guard closing else {
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
            unflushed = true
            return
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        written.futureResult.whenComplete { _ in bound.value.close(promise: nil) }
    }

    /// `Connection: close` (any case, among other tokens), read byte by byte (Foundation's trimming bridges to
    /// NSString and cost more than the rest of a refusal).
    static func asksToClose(_ head: HTTPRequest) -> Bool {
        guard let value = head.headerFields[.connection] else { return false }
        let close = Array("close".utf8)
        for token in value.utf8.split(separator: UInt8(ascii: ",")) {
            let trimmed = token.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
            let end = trimmed.lastIndex { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }.map { trimmed.index(after: $0) } ?? trimmed.startIndex
            let word = trimmed[trimmed.startIndex..<end]
            if word.count == close.count, zip(word, close).allSatisfy({ $0 | 0x20 == $1 }) { return true }
        }
        return false
    }
}
