import Foundation
import HappeningGeo
import HappeningModel
import Hummingbird
import Logging
import Payments

/// Signed-in event routes: create, the owner's list, admin lists and review, edit, cancel (with refunds) and the
/// cancellation's progress.
struct EventsController: Sendable {
    let events: EventRepository
    let cache: ReadCache
    let gazetteer: Gazetteer
    let cancellations: CancellationService

    struct EventResponse: ResponseEncodable {
        var message: String
        var event: EventRecord
    }

    struct ReviewInput: Decodable {
        var action: String?
        var adminNotes: String?
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post(use: create)
        group.get("my-events", use: mine)
        group.get("admin/pending") { try await self.adminList($0, $1, status: .pending) }
        group.get("admin/approved") { try await self.adminList($0, $1, status: .approved) }
        group.get("admin/rejected") { try await self.adminList($0, $1, status: .rejected) }
        group.post("admin/:id/review", use: review)
        group.put(":id", use: edit)
        group.post(":id/cancel", use: cancel)
        group.get(":id/cancellation", use: cancellation)
    }

    /// Approved hosts and admins may create; a host's event waits for review, an admin's is approved.
    @Sendable func create(request: Request, context: AppRequestContext) async throws -> EditedResponse<EventResponse> {
        let user = try context.requireUser()
        let isAdmin = user.role == .admin
        guard isAdmin || user.host_status == .approved else {
            throw AppError.forbidden("Only approved hosts and admins can create events", code: "not_a_host")
        }
        let input = try await request.decodeJSON(as: EventInput.self, context: context)
        let event = try await events.create(try input.fields(creating: true, gazetteer: gazetteer), by: user.id, approved: isAdmin)
        await cache.invalidate(event: event.id, logger: context.logger)
        return EditedResponse(
            status: .created,
            response: EventResponse(
                message: isAdmin ? "Event created and approved" : "Event created and sent for review", event: event))
    }

    @Sendable func mine(request: Request, context: AppRequestContext) async throws -> EventPage {
        let user = try context.requireUser()
        let page = try PageRequest(request.uri.queryParameters.dictionary)
        return EventPage(message: "Your events", rows: try await events.owned(by: user.id, page: page), page: page)
    }

    func adminList(_ request: Request, _ context: AppRequestContext, status: ApprovalStatus) async throws -> EventPage {
        _ = try context.requireAdmin()
        let page = try PageRequest(request.uri.queryParameters.dictionary)
        return EventPage(message: "Events \(status.rawValue)", rows: try await events.list(status: status, page: page), page: page)
    }

    @Sendable func review(request: Request, context: AppRequestContext) async throws -> Response {
        let admin = try context.requireAdmin()
        let id = try context.uuidParameter("id")
        let input = try await request.decodeJSON(as: ReviewInput.self, context: context)
        guard let action = input.action.flatMap(ReviewAction.init(rawValue:)) else { throw AppError.validation(["action": "must be approve or reject"]) }
        if let notes = input.adminNotes, notes.count > 2_000 { throw AppError.validation(["adminNotes": "must be at most 2000 characters"]) }
        guard try await events.review(id, decision: action, notes: input.adminNotes, by: admin.id) else {
            throw AppError.notFound("Event not found", code: "event_not_found")
        }
        await cache.invalidate(event: id, logger: context.logger)
        struct Reviewed: Encodable {
            let message: String
            let status: ApprovalStatus
        }
        let status = action.approvalStatus
        return try context.json(Reviewed(message: "Event \(status.rawValue)", status: status))
    }

    /// Owner or admin. A material edit by the owner sends an approved event back to review.
    /// A host may not edit an event once it started, was cancelled or has a payout (moving a past event's date
    /// forward would let its buyers cancel for a full refund after the host was paid).
    @Sendable func edit(request: Request, context: AppRequestContext) async throws -> EventResponse {
        let user = try context.requireUser()
        let id = try context.uuidParameter("id")
        let existing = try await ownedOrAdmin(id, user)
        let input = try await request.decodeJSON(as: EventInput.self, context: context)
        let fields = try input.fields(creating: false, gazetteer: gazetteer)
        let byHost = user.role != .admin
        let backToReview = byHost && input.isMaterial
        guard let event = try await events.update(id, fields, sendBackToReview: backToReview, byHost: byHost, logger: context.logger) else {
            throw AppError.notFound("Event not found", code: "event_not_found")
        }
        await cache.invalidate(event: id, logger: context.logger)
        return EventResponse(
            message: backToReview && existing.approval_status == .approved ? "Event updated and sent back for review" : "Event updated", event: event)
    }

    /// The admin's explicit word to refund the buyers of an event whose host was paid out.
    struct CancelInput: Decodable {
        var refund_after_payout: Bool?
    }

    /// The host before the event starts and while no payout exists; an admin at any time (with a payout only when
    /// the body says `"refund_after_payout": true`).
    @Sendable func cancel(request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.uuidParameter("id")
        _ = try await ownedOrAdmin(id, user)
        let input = try await request.decodeOptionalJSON(as: CancelInput.self, context: context)
        let requester: CancellationService.Requester = user.role == .admin ? .admin(refundAfterPayout: input?.refund_after_payout ?? false) : .host
        switch try await cancellations.startEventCancellation(id, by: user.id, as: requester) {
        case .started: break
        case .notFound: throw AppError.notFound("Event not found", code: "event_not_found")
        case .alreadyCancelled: throw AppError.conflict("The event is already cancelled", code: "already_cancelled")
        case .eventStarted: throw AppError.conflict("The event has started; only an admin can cancel it now", code: "event_started")
        case .payoutExists:
            throw AppError.conflict(
                user.role == .admin
                    ? "The host has been paid out for this event; send {\"refund_after_payout\": true} to refund every buyer anyway"
                    : "The host has been paid out for this event; only an admin can cancel it now", code: "payout_exists")
        }
        await cache.invalidate(event: id, logger: context.logger)
        // Bookings are cancelled and refunded in the background, batch by batch. If this process stops first, the
        // worker's reconcile loop resumes the job (its lease runs out after a minute).
        let (cancellations, cache, logger) = (self.cancellations, self.cache, context.logger)
        Task {
            do {
                try await cancellations.runEventCancellation(id)
                await cache.invalidate(event: id, logger: logger)
            } catch {
                logger.warning("event cancellation interrupted; the worker resumes it", metadata: ["error": "\(error)"])
            }
        }
        struct Cancelled: Encodable {
            let success: Bool
            let message: String
            let progress_url: String
        }
        return try context.json(
            Cancelled(
                success: true, message: "Event cancelled; its bookings are being cancelled and refunded",
                progress_url: "/api/events/\(id.lowercasedText)/cancellation"))
    }

    /// How far an event's cancellation has got (its host or an admin).
    @Sendable func cancellation(request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.uuidParameter("id")
        _ = try await ownedOrAdmin(id, user)
        guard let progress = try await cancellations.progress(id) else {
            throw AppError.notFound("This event has not been cancelled", code: "not_cancelled")
        }
        return try context.json(progress)
    }

    private func ownedOrAdmin(_ id: UUID, _ user: AuthenticatedUser) async throws -> EventRecord {
        guard let event = try await events.find(id) else { throw AppError.notFound("Event not found", code: "event_not_found") }
        guard user.role == .admin || event.created_by == user.id else {
            throw AppError.forbidden("Only the event's host or an admin can do this", code: "not_owner")
        }
        return event
    }
}

extension AppRequestContext {
    /// A path parameter that must be a UUID (400 otherwise, never a 500).
    func uuidParameter(_ name: String) throws -> UUID {
        guard let text = parameters.get(name), let id = UUID(uuidString: text) else {
            throw AppError.badRequest("\(name) must be a UUID", code: "invalid_id")
        }
        return id
    }

    /// Encodes `value` as a 200 JSON response with the context's encoder.
    func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try responseEncoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension Collection where Element == (key: Substring, value: Substring) {
    /// Query parameters as a dictionary (the first value wins).
    var dictionary: [String: String] {
        var result: [String: String] = [:]
        for (key, value) in self where result[String(key)] == nil { result[String(key)] = String(value) }
        return result
    }
}
