import EventAvailability
import Foundation
import HTTPTypes
import HappeningModel
import Hummingbird
import Logging
import NIOCore
import NIOFoundationEssentialsCompat

/// `/api/bookings`: intake (202 after the broker confirms), status, the caller's bookings, cancelling a
/// pending hold, and an event's bookings for its host or an admin.
struct BookingsController: Sendable {
    let intake: BookingIntake
    let bookings: BookingRepository
    let events: EventRepository
    let cache: ReadCache

    struct BookingInput: Decodable {
        var event_id: String?
        var ticket_count: Int?

        init(event_id: String?, ticket_count: Int?) { (self.event_id, self.ticket_count) = (event_id, ticket_count) }

        /// The body every client sends, `{"event_id":"<36 characters>","ticket_count":<digits>}` (either order,
        /// blanks between tokens), read without a decoder; nil for anything else — escapes, other keys, a repeated
        /// key, other number forms — which `JSONDecoder` then reads (this reader never reads differently from it).
        init?(plain body: ByteBuffer) {
            var reader = PlainJSONObject(body.readableBytesView)
            guard reader.take(UInt8(ascii: "{")) else { return nil }
            var event: String?
            var tickets: Int?
            repeat {
                switch reader.key() {
                case "event_id"? where event == nil:
                    guard let text = reader.string() else { return nil }
                    event = text
                case "ticket_count"? where tickets == nil:
                    guard let count = reader.integer() else { return nil }
                    tickets = count
                default: return nil
                }
            } while reader.take(UInt8(ascii: ","))
            guard reader.take(UInt8(ascii: "}")), reader.atEnd, let event, let tickets else { return nil }
            self.init(event_id: event, ticket_count: tickets)
        }
    }

    /// `intake` is the group for `POST /api/bookings`, signed in by the token alone (no account reload: the
    /// worker is the authority); `group` has the rest.
    func addRoutes(to group: RouterGroup<AppRequestContext>, intake: RouterGroup<AppRequestContext>) {
        intake.post(use: create)
        group.get("my-bookings", use: mine)
        group.get("event/:id", use: forEvent)
        group.get(":id", use: status)
        group.post(":id/cancel-pending", use: cancelPending)
    }

    /// What a booking request asks for, validated (400 with every problem at once otherwise).
    struct BookingRequest: Sendable {
        let event: UUID
        let tickets: Int
        let idempotencyKey: String?

        init(body: ByteBuffer, idempotencyKey key: String?) throws {
            guard let input = try BookingInput(plain: body) ?? Request.decodeJSON(body, as: BookingInput.self) else {
                throw AppError.badRequest("A JSON body is required", code: "invalid_json")
            }
            var validator = Validator()
            let eventID = input.event_id.flatMap { UUID(canonical: $0.utf8) }
            if eventID == nil { validator.fail("event_id", input.event_id == nil ? "is required" : "must be a UUID") }
            let tickets = input.ticket_count ?? 0
            if !(1...BookingJob.maximumTickets).contains(tickets) {
                validator.fail("ticket_count", "must be a whole number from 1 to \(BookingJob.maximumTickets)")
            }
            if let key, key.isEmpty || key.count > 200 { validator.fail("Idempotency-Key", "must be 1 to 200 characters") }
            try validator.check()
            guard let eventID else { throw AppError.validation(["event_id": "must be a UUID"]) }
            (event, self.tickets, idempotencyKey) = (eventID, tickets, key)
        }
    }

    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!

    @Sendable func create(request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUserID()
        let booking = try BookingRequest(body: try await request.collectedBody(context: context), idempotencyKey: request.headers[Self.idempotencyKey])
        let id = try await accept(booking, user: user, timings: context.timings, logger: context.logger)
        return Response(status: .accepted, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: Self.acceptedBody(id)))
    }

    /// Intake's decision on a valid request (the route's, and the event loop's for requests it takes whole,
    /// ``InlineRoutes``): the cheap checks from the cached event, then the admission gate and the queue
    /// (``BookingIntake/submit(event:user:tickets:key:storedAvailable:timings:logger:)``). The booking's id, or the
    /// client's error.
    func accept(_ booking: BookingRequest, user: UUID, timings: StageTimings, logger: Logger) async throws -> UUID {
        let eventID = booking.event
        // Cheap checks from the cached event; the admission gate and then the worker (locked) decide the rest.
        let event: EventRepository.BookingFacts
        do {
            event = try await timings.measure(.event) { try await bookingFacts(eventID, logger: logger) }
        } catch let error as AppError where error.status == .notFound {
            throw AppError.notFound("Event not found", code: "event_not_found")
        }
        if event.startsAt <= Date() { throw AppError.unprocessable("The event has already started", code: "event_past") }
        return try await intake.submit(
            event: eventID, user: user, tickets: booking.tickets, key: booking.idempotencyKey, storedAvailable: event.ticketsLeft,
            timings: timings, logger: logger)
    }

    /// When a public event starts and the tickets left its cached entry holds: read where the entry was scanned when it
    /// was stored (typed, in ``CachedBody``); an entry the scan cannot read (not this server's writing) is answered by
    /// the repository's typed lookup, never by decoding the public JSON. 404 when the event is not public.
    private func bookingFacts(_ id: UUID, logger: Logger) async throws -> EventRepository.BookingFacts {
        let stored = try await cache.storedEvent(id, logger: logger, compute: PublicEventsController.publicEvent(id, events))
        if let startsAt = stored.eventStart, let left = stored.slots?.written(for: id) { return .init(startsAt: startsAt, ticketsLeft: left) }
        guard let facts = try await events.bookingFacts(id) else { throw AppError.notFound("Event not found", code: "event_not_found") }
        return facts
    }

    /// The 202's body (keys sorted, as every JSON answer).
    static func acceptedBody(_ id: UUID) -> ByteBuffer {
        let text = id.lowercasedText
        return ByteBuffer(
            string: #"{"booking_id":"\#(text)","message":"Booking request received! It is being processed.","status":"queued","#
                + #""status_url":"/api/bookings/\#(text)","success":true}"#)
    }

    /// `queued` until the worker decides; then the stored booking.
    @Sendable func status(request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.uuidParameter("id")
        if let booking = try await bookings.find(id) {
            guard booking.user_id == user.id || user.role == .admin else {
                throw AppError.forbidden("This booking belongs to someone else", code: "not_owner")
            }
            struct Found: Encodable { let booking: BookingRepository.Booking }
            return try context.json(Found(booking: booking))
        }
        if let owner = await intake.queuedOwner(id) {
            guard owner == user.id || user.role == .admin else { throw AppError.forbidden("This booking belongs to someone else", code: "not_owner") }
            struct Queued: Encodable { let booking: [String: String] }
            return try context.json(Queued(booking: ["id": id.lowercasedText, "status": "queued"]))
        }
        throw AppError.notFound("Booking not found", code: "booking_not_found")
    }

    @Sendable func mine(request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let page = try PageRequest(request.uri.queryParameters.dictionary)
        let rows = try await bookings.mine(user.id, page: page)
        struct Mine: Encodable {
            let bookings: [BookingRepository.MyBooking]
            let pagination: Pagination
        }
        let (items, pagination) = page.slice(rows)
        return try context.json(Mine(bookings: items, pagination: pagination))
    }

    @Sendable func cancelPending(request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.uuidParameter("id")
        guard let event = try await bookings.cancelPending(id, user: user.id, logger: context.logger) else {
            throw AppError.notFound("No pending booking of yours with this id", code: "booking_not_found")
        }
        cache.ticketsLeftChanged([event])
        struct Done: Encodable { let message: String }
        return try context.json(Done(message: "Pending booking cancelled and its tickets released"))
    }

    @Sendable func forEvent(request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.uuidParameter("id")
        guard let event = try await events.find(id) else { throw AppError.notFound("Event not found", code: "event_not_found") }
        guard user.role == .admin || event.created_by == user.id else {
            throw AppError.forbidden("Only the event's host or an admin can see its bookings", code: "not_owner")
        }
        let page = try PageRequest(request.uri.queryParameters.dictionary)
        let rows = try await bookings.forEvent(id, page: page)
        struct List: Encodable {
            let bookings: [BookingRepository.EventBooking]
            let pagination: Pagination
        }
        let (items, pagination) = page.slice(rows)
        return try context.json(List(bookings: items, pagination: pagination))
    }
}

extension JSONDecoder {
    /// A decoder for our own ISO 8601 JSON.
    static var iso8601: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

/// A reader of the plainest JSON objects (``BookingsController/BookingInput/init(plain:)``): strings without escapes,
/// integers of at most 9 digits without sign, fraction or exponent.
struct PlainJSONObject {
    private let bytes: ByteBufferView
    private var index: ByteBufferView.Index

    init(_ bytes: ByteBufferView) {
        self.bytes = bytes
        index = bytes.startIndex
    }

    var atEnd: Bool {
        mutating get {
            skipBlanks()
            return index == bytes.endIndex
        }
    }

    mutating func take(_ byte: UInt8) -> Bool {
        skipBlanks()
        guard index != bytes.endIndex, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// `"name":`.
    mutating func key() -> String? {
        guard let name = string(), take(UInt8(ascii: ":")) else { return nil }
        return name
    }

    mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: bytes[start..<index], as: UTF8.self)
                index += 1
                return text
            }
            guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\\") else { return nil }
            index += 1
        }
        return nil
    }

    mutating func integer() -> Int? {
        skipBlanks()
        let start = index
        var value = 0
        var digits = 0
        while index != bytes.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
            value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
            digits += 1
            index += 1
        }
        // JSON has no leading zeros ("01" is not a number).
        guard (1...9).contains(digits), digits == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
        if index != bytes.endIndex, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) { return nil }
        return value
    }

    private mutating func skipBlanks() {
        while index != bytes.endIndex, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }
}
