import Foundation
import HTTPTypes
import HappeningAuth
import HappeningGeo
import HappeningModel
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOCore

/// The answers the server gives from memory on the event loop that read the request: no task, no executor hop,
/// no router or middleware chain (``InlineResponder`` calls it; the profile of issue 36 put three quarters of a
/// cached read's CPU in that machinery). Only these requests, and only when memory holds the whole answer:
///
/// - `GET /api/health/live`: always.
/// - `GET /api/events/{id}`: when this server holds the event's body and its tickets left
///   (``ReadCache/heldEvent(_:)``, the same copy and merge the route serves).
/// - `GET /api/events/public/{upcoming, search, category/{category}}`: when this server holds the page for the current
///   list generation and every event's tickets left on it (``ReadCache/heldList(_:)``, keys from
///   ``PublicEventsController/listKey(path:query:gazetteer:)``).
/// - `POST /api/bookings`: a refusal only — a valid token, a valid body without `Idempotency-Key`, an event held
///   here that has not started, and the gate's sold-out memory saying it cannot fit
///   (``BookingIntake/refusalFromMemory(event:tickets:key:)``, the check the route makes first too).
///
/// Any other booking request (valid or not) is decided off the event loop by the route's own code
/// (``BookingsController/accept(_:user:timings:logger:)`` on the intake's threads, errors through ``ErrorMapping``) and
/// answered when done (``deferredBooking(_:body:)``): a sale's burst never enters the router's per-request tasks.
/// Anything else returns nil and goes to the router unchanged: this type never decides anything the route would decide
/// differently. Answers carry what the router's would: `X-Request-Id`,
/// `Date`, `Server`, `X-Cache`, `Server-Timing`, and count in the same request metrics.
struct InlineRoutes: Sendable {
    let cache: ReadCache
    let intake: BookingIntake
    let bookings: BookingsController
    let tokens: TokenService
    let gazetteer: Gazetteer
    /// Where bookings the intake decides run (the intake's own threads; nil: the shared pool).
    let intakeExecutor: (any TaskExecutor)?
    let logger: Logger
    let metrics: RequestMetrics
    let stageTimers: StageTimers
    let serverName: String?
    let dates: HTTPDateCache
    /// `happening_inline_answers_total{route}`: how many answers each route gave here (the rest of its requests
    /// went to the router).
    private let answered: [String: Counter]
    /// `happening_inline_bookings_decided_total`: bookings the intake decided off the event loop (the rest of the
    /// route's inline answers are refusals from the sold-out memory).
    private let decided: Counter

    init(
        cache: ReadCache, bookings: BookingsController, tokens: TokenService, gazetteer: Gazetteer, intakeExecutor: (any TaskExecutor)?,
        metrics: RequestMetrics, stageTimers: StageTimers, serverName: String?, factory: any MetricsFactory, logger: Logger
    ) {
        (self.cache, self.intake, self.bookings, self.tokens, self.gazetteer) = (cache, bookings.intake, bookings, tokens, gazetteer)
        (self.intakeExecutor, self.logger) = (intakeExecutor, logger)
        (self.metrics, self.stageTimers) = (metrics, stageTimers)
        self.serverName = serverName
        dates = HTTPDateCache()
        answered = Dictionary(
            uniqueKeysWithValues: [Self.liveRoute, Self.eventRoute, Self.bookingsRoute, Self.upcomingRoute, Self.searchRoute, Self.categoryRoute].map {
                ($0, Counter(label: "happening_inline_answers_total", dimensions: [("route", $0)], factory: factory))
            })
        decided = Counter(label: "happening_inline_bookings_decided_total", factory: factory)
    }

    /// A complete answer.
    struct Answer {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: ByteBuffer
    }

    private enum Route {
        case live
        case event(UUID)
        case list(String)
        case booking
    }

    static let liveRoute = "/api/health/live"
    static let eventRoute = "/api/events/{id}"
    static let bookingsRoute = "/api/bookings"
    static let upcomingRoute = "/api/events/public/upcoming"
    static let searchRoute = "/api/events/public/search"
    static let categoryRoute = "/api/events/public/category/{category}"
    private static let eventPrefix = Array("/api/events/".utf8)
    private static let listPrefix = "/api/events/public/"
    private static let xCache = HTTPField.Name("X-Cache")!
    private static let requestID = HTTPField.Name("X-Request-Id")!

    /// True when a request with this head may be answered here once its body has arrived.
    func mayAnswer(_ head: HTTPRequest) -> Bool { route(head) != nil }

    /// The answer to a whole request, or nil when the router must answer it.
    func answer(_ head: HTTPRequest, body: ByteBuffer) -> Answer? {
        let start = ContinuousClock.now
        let answer: Answer?
        let route: String
        switch self.route(head) {
        case .live?:
            route = Self.liveRoute
            answer = Answer(status: .ok, headers: [.contentType: HealthController.liveContentType], body: HealthController.liveBody)
        case .event(let id)?:
            route = Self.eventRoute
            answer = cache.heldEvent(id).map(Self.cached)
        case .list(let list)?:
            route = list
            answer = heldList(head.path ?? "").map(Self.cached)
        case .booking?:
            route = Self.bookingsRoute
            answer = refusal(head, body: body)
        case nil:
            return nil
        }
        guard var answer else { return nil }
        finish(&answer, route: route, method: head.method, since: start)
        return answer
    }

    /// What every answer given here carries and counts: `X-Request-Id`, `Date`, `Server`, the request metrics.
    private func finish(
        _ answer: inout Answer, route: String, method: HTTPRequest.Method, since start: ContinuousClock.Instant, id: String = RequestID().description
    ) {
        answer.headers[Self.requestID] = id
        answer.headers[.date] = dates.current()
        if let serverName { answer.headers[.server] = serverName }
        metrics.for(route: route, method: method, status: answer.status).record(since: start, failed: false)
        answered[route]?.increment()
    }

    /// True for `POST /api/bookings` (which ``deferredBooking(_:body:)`` decides when ``answer(_:body:)`` does not).
    func isBooking(_ head: HTTPRequest) -> Bool {
        if case .booking? = route(head) { return true }
        return false
    }

    /// `POST /api/bookings` decided by the intake, as the route decides it (the token, the body, the event, the gate,
    /// the queue), off the event loop; nil for any other request. The closure's answer is complete.
    func deferredBooking(_ head: HTTPRequest, body: ByteBuffer) -> (@Sendable () async -> Answer)? {
        guard case .booking? = route(head) else { return nil }
        let start = ContinuousClock.now
        decided.increment()
        let (authorization, key) = (head.headerFields[.authorization], head.headerFields[BookingsController.idempotencyKey])
        return { [self] in
            let timings = StageTimings()
            let id = RequestID().description
            var answer: Answer
            do {
                let started = ContinuousClock.now
                let verified = Result { try RequireUserMiddleware.verified(authorization, tokens: tokens) }
                timings.record(.token, ContinuousClock.now - started)
                let user = try verified.get().userID
                let booking = try BookingsController.BookingRequest(body: body, idempotencyKey: key)
                let booked = try await bookings.accept(booking, user: user, timings: timings, logger: logger)
                answer = Answer(status: .accepted, headers: [.contentType: "application/json; charset=utf-8"], body: BookingsController.acceptedBody(booked))
            } catch {
                let mapped = ErrorMapping.appError(for: error, logger: logger)
                answer = Answer(status: mapped.status, headers: mapped.responseHeaders, body: mapped.body(requestID: mapped.status.code >= 500 ? id : nil))
            }
            let stages = timings.recorded
            if !stages.isEmpty { answer.headers[StageTimers.serverTiming] = stageTimers.record(stages, route: Self.bookingsRoute) }
            finish(&answer, route: Self.bookingsRoute, method: .post, since: start, id: id)
            return answer
        }
    }

    private static func cached(_ body: ByteBuffer) -> Answer {
        Answer(status: .ok, headers: [.contentType: "application/json; charset=utf-8", Self.xCache: ReadCache.Outcome.hit.rawValue], body: body)
    }

    /// A public list page held here: the path and query read as the route reads them (Hummingbird's `URI`).
    private func heldList(_ target: String) -> ByteBuffer? {
        let uri = URI(target)
        let path = uri.path.dropFirst(Self.listPrefix.count)
        guard let key = try? PublicEventsController.listKey(path: path, query: uri.queryParameters.dictionary, gazetteer: gazetteer) else {
            return nil
        }
        return cache.heldList(key)
    }

    private func route(_ head: HTTPRequest) -> Route? {
        guard let path = head.path else { return nil }
        let utf8 = path.utf8
        let end = utf8.firstIndex(of: UInt8(ascii: "?")) ?? utf8.endIndex
        let bare = utf8[utf8.startIndex..<end]
        switch head.method {
        case .get:
            if bare.elementsEqual(Self.liveRoute.utf8) { return .live }
            if bare.starts(with: Self.listPrefix.utf8) { return Self.listRoute(bare.dropFirst(Self.listPrefix.utf8.count)) }
            guard bare.starts(with: Self.eventPrefix), let id = UUID(canonical: bare.dropFirst(Self.eventPrefix.count)) else { return nil }
            return .event(id)
        case .post:
            return bare.elementsEqual(Self.bookingsRoute.utf8) ? .booking : nil
        default:
            return nil
        }
    }

    /// The list route a path under `/api/events/public/` names (a category by letters only: anything encoded or
    /// nested is the router's to read).
    private static func listRoute(_ rest: Substring.UTF8View.SubSequence) -> Route? {
        if rest.elementsEqual("upcoming".utf8) { return .list(upcomingRoute) }
        if rest.elementsEqual("search".utf8) { return .list(searchRoute) }
        let category = "category/".utf8
        guard rest.starts(with: category), rest.count > category.count,
            rest.dropFirst(category.count).allSatisfy({ (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0 | 0x20) })
        else { return nil }
        return .list(categoryRoute)
    }

    /// A booking the sold-out memory refuses, with the stages the route would name in `Server-Timing`. The token is
    /// verified last, only when the answer would be a refusal: a request the router takes anyway (a sale's first
    /// burst, before the memory knows) must not pay for it twice on the event loop (the intake verifies it on its
    /// own threads).
    private func refusal(_ head: HTTPRequest, body: ByteBuffer) -> Answer? {
        let started = ContinuousClock.now
        guard head.headerFields[BookingsController.idempotencyKey] == nil,
            let booking = try? BookingsController.BookingRequest(body: body, idempotencyKey: nil),
            let startsAt = cache.heldEventStart(booking.event), startsAt > Date()
        else { return nil }
        let checked = ContinuousClock.now
        guard let error = intake.refusalFromMemory(event: booking.event, tickets: booking.tickets, key: nil) else { return nil }
        let remembered = ContinuousClock.now
        guard (try? RequireUserMiddleware.verified(head.headerFields[.authorization], tokens: tokens)) != nil else { return nil }
        let timing = stageTimers.record(
            [(.token, ContinuousClock.now - remembered), (.event, checked - started), (.admission, remembered - checked)], route: Self.bookingsRoute)
        return Answer(
            status: error.status, headers: [.contentType: "application/json; charset=utf-8", StageTimers.serverTiming: timing],
            body: error.body(requestID: nil))
    }
}
