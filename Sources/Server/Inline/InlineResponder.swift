import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Sits in each connection's pipeline between the HTTP decoding and the router's channel: a request
/// ``InlineRoutes`` can answer from memory is answered here, on the event loop, and never reaches the router; every
/// other request passes on unchanged.
///
/// A booking the intake must decide is decided off the event loop (``InlineRoutes/deferredBooking(_:body:)``) and
/// answered here when done; until then the connection's later requests wait in ``held`` and no more is read (its
/// `read` is held back), so nothing is answered out of turn and a pipelining client cannot grow the buffer.
///
/// The router's side of the connection (its async channel and task) is made when the first request passes on
/// (``startRouter``); until then this handler closes the connection itself when the client half-closes, once every
/// answer is written.
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

    /// This event loop's bookings being decided by the intake, and those waiting their turn.
    private let turns: IntakeTurns
    /// Set when the handler leaves the pipeline (the connection closed): a booking still waiting its turn is dropped.
    private var removed = false

    /// Makes the router's side of the connection (called once, on the event loop, before the first part passes on).
    private let startRouter: (any Channel) throws -> Void
    private var routerStarted = false
    /// The end of the last answer written here: a connection closed here closes once it is written.
    private var lastAnswerWritten: EventLoopFuture<Void>?

    init(routes: InlineRoutes, maximumBody: Int, turns: IntakeTurns, startRouter: @escaping (any Channel) throws -> Void) {
        self.routes = routes
        self.maximumBody = maximumBody
        self.turns = turns
        self.startRouter = startRouter
    }

    func handlerRemoved(context: ChannelHandlerContext) { removed = true }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case ChannelEvent.inputClosed = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        turns.readHappened()
        // Not before an answer being decided has been written.
        if deciding { inputClosedHeld = true } else { inputClosed(context: context) }
    }

    /// The client half-closed: the router's loop ends and closes the connection; without a router, it is closed here
    /// once every answer is written.
    private func inputClosed(context: ChannelHandlerContext) {
        if routerStarted {
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            return
        }
        if unflushed {
            unflushed = false
            context.flush()
        }
        guard let written = lastAnswerWritten else {
            context.close(promise: nil)
            return
        }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        written.whenComplete { _ in bound.value.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if routerStarted {
            context.fireErrorCaught(error)
        } else if error is HTTPParserError {
            // A request the decoder could not read is answered (400) and closed by the router, as without inline answers.
            if ensureRouter(context: context) { context.fireErrorCaught(error) }
        } else {
            // A failed read or write (a reset connection): closed, as the router's side would close it.
            context.close(promise: nil)
        }
    }

    /// Makes the router's side of the connection if it is not there yet; false (and the connection closed) when it
    /// could not be made — on a connection no longer open, none is (its async channel would have nothing to finish).
    private func ensureRouter(context: ChannelHandlerContext) -> Bool {
        guard !routerStarted else { return true }
        guard !removed, context.channel.isActive else {
            context.close(promise: nil)
            return false
        }
        do {
            try startRouter(context.channel)
            routerStarted = true
            return true
        } catch {
            context.close(promise: nil)
            return false
        }
    }

    /// A part for the router.
    private func forward(_ data: NIOAny, context: ChannelHandlerContext) {
        guard ensureRouter(context: context) else { return }
        context.fireChannelRead(data)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        turns.readHappened()
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
                forward(data, context: context)
            } else {
                state = .idle  // drops the state's reference before the append, so the buffer is not copied
                if body == nil { body = chunk } else { body!.writeImmutableBuffer(chunk) }
                state = .collecting(head, body)
            }
        case (.collecting(let head, let body), .end):
            state = .idle
            let body = body ?? ByteBuffer()
            if routes.isBooking(head) {
                let closing = Self.asksToClose(head)
                if !turns.mayAnswerNow() {
                    // The loop answered its share of bookings lately: this one waits, and what is read next goes first.
                    deciding = true
                    turns.wait(waiting(head, body: body, closing: closing, context: context))
                } else if let answer = routes.answer(head, body: body) {
                    write(answer, closing: closing, context: context)
                } else {
                    deciding = true
                    turns.take(waiting(head, body: body, closing: closing, context: context))
                }
            } else if let answer = routes.answer(head, body: body) {
                write(answer, closing: Self.asksToClose(head), context: context)
            } else {
                passOn(head, body: body, context: context)
                state = .idle
                forward(data, context: context)
            }
        case (.passing, .end):
            state = .idle
            forward(data, context: context)
        default:
            forward(data, context: context)
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

    /// A booking as it waits its turn (made only when it has to: most refusals are answered as they are read).
    private func waiting(_ head: HTTPRequest, body: ByteBuffer, closing: Bool, context: ChannelHandlerContext) -> IntakeTurns.Waiting {
        IntakeTurns.Waiting(
            refused: { [self] in refusedNow(head, body: body, closing: closing, context: context) },
            decide: { [self] in decide(head, body: body, closing: closing, context: context) })
    }

    /// A booking waiting its turn, answered if the sold-out memory refuses it now (true). A connection that closed
    /// meanwhile counts as answered: nothing is left to do for it.
    private func refusedNow(_ head: HTTPRequest, body: ByteBuffer, closing: Bool, context: ChannelHandlerContext) -> Bool {
        if removed { return true }
        guard let answer = routes.answer(head, body: body) else { return false }
        delivered(answer, closing: closing, context: context)
        return true
    }

    /// A booking's turn with the intake: decided off the event loop (true: ``IntakeTurns/finished()`` follows its
    /// answer); false when its connection closed meanwhile.
    private func decide(_ head: HTTPRequest, body: ByteBuffer, closing: Bool, context: ChannelHandlerContext) -> Bool {
        guard !removed, let decide = routes.deferredBooking(head, body: body) else { return false }
        decideOffTheLoop(decide, closing: closing, context: context)
        return true
    }

    /// Decides off the event loop (on the intake's executor), then writes the answer, ends the turn and goes on with
    /// what waited.
    private func decideOffTheLoop(_ decide: @escaping @Sendable () async -> InlineRoutes.Answer, closing: Bool, context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        let deliver: @Sendable (InlineRoutes.Answer) -> Void = { answer in
            loop.execute {
                let (responder, context) = bound.value
                if !responder.removed { responder.delivered(answer, closing: closing, context: context) }
                responder.turns.finished()
            }
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
        // Parts passed on here are outside a read: the router's channel hands what it holds to its task at the end of
        // a read, and no read may come (the client may be waiting for these answers).
        if routerStarted, !waiting.isEmpty { context.fireChannelReadComplete() }
        if unflushed {
            unflushed = false
            context.flush()
        }
        if inputClosedHeld, !deciding {
            inputClosedHeld = false
            inputClosed(context: context)
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
        forward(wrapInboundOut(.head(head)), context: context)
        if let body { forward(wrapInboundOut(.body(body)), context: context) }
    }

    private func write(_ answer: InlineRoutes.Answer, closing: Bool, context: ChannelHandlerContext) {
        var headers = answer.headers
        headers[.contentLength] = String(answer.body.readableBytes)
        if closing { headers[.connection] = "close" }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: answer.status, headerFields: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(answer.body)), promise: nil)
        guard closing else {
            if routerStarted {
                context.write(wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                let written = context.eventLoop.makePromise(of: Void.self)
                context.write(wrapOutboundOut(.end(nil)), promise: written)
                lastAnswerWritten = written.futureResult
            }
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
