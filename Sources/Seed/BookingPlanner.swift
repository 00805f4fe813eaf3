import Foundation
import HappeningPostgres

/// Historical bookings and their payments, planned so that every ledger invariant holds:
/// for each event, `available_tickets = total_tickets − Σ ticket_count` over its pending and confirmed
/// bookings, never below zero. A booking that would not fit is stored as `failed` (`sold_out`), as the
/// worker would have decided it.
///
/// Planning walks the bookings once, in order (the capacity left depends on the bookings before);
/// everything else about booking `i` is a pure function of its index, so rows are recomputed when written.
struct BookingPlanner: Sendable {
    let plan: SeedPlan
    let events: EventFactory
    var people: PeopleFactory { events.people }

    enum Status: UInt8 {
        case pending, confirmed, cancelled, failed
        var label: String { ["pending", "confirmed", "cancelled", "failed"][Int(rawValue)] }
        var holdsTickets: Bool { self == .pending || self == .confirmed }
    }

    /// The planning outcome: a status per booking and which bookings have a payment row.
    struct Ledger: Sendable {
        var statuses: [Status]
        /// Booking indices with a payment, ascending.
        var paymentBookings: [Int]
    }

    /// Booking `index`'s draws, before capacity is known.
    struct Draw {
        var id: UUID
        var eventIndex: Int
        var event: EventFactory.Event
        var userIndex: Int
        var tickets: Int32
        var wanted: Status
        var bookedMicros: Int64
        /// Paid events: the payment happened (confirmed), or happened and was refunded (cancelled).
        var paid: Bool
    }

    func draw(_ index: Int) -> Draw {
        var random = SeedRandom(seed: plan.seed, stream: .booking, index: index)
        let id = random.uuid()
        // Popular events draw most bookings (cubic skew); bookings only exist on approved events.
        var eventIndex = 0
        var event = events.event(0)
        for attempt in 0..<16 {
            let u = random.unit()
            eventIndex = min(plan.events - 1, Int(u * u * u * Double(plan.events)))
            event = events.event(eventIndex)
            if event.approval == "approved" || attempt == 15 { break }
        }
        let userIndex = random.below(plan.users)
        let roll = random.unit()
        let tickets: Int32 = roll < 0.5 ? 1 : (roll < 0.8 ? 2 : (roll < 0.9 ? 3 : 4))
        let past = event.dateMicros < plan.anchorMicros
        let outcome = random.unit()
        var wanted: Status
        if event.isCancelled || event.approval != "approved" {
            wanted = .cancelled
        } else if past {
            wanted = outcome < 0.88 ? .confirmed : .cancelled
        } else {
            wanted = outcome < 0.78 ? .confirmed : (outcome < 0.86 ? .pending : .cancelled)
        }
        let latest = min(event.dateMicros, plan.anchorMicros) - 3_600_000_000
        let span = max(1, (latest - event.createdMicros) / 1_000_000)
        let booked = event.createdMicros + Int64(random.below(Int(span))) * 1_000_000
        let paid = event.pricePaise > 0 && (wanted == .confirmed || (wanted == .cancelled && random.chance(0.5)))
        return Draw(
            id: id, eventIndex: eventIndex, event: event, userIndex: userIndex, tickets: tickets,
            wanted: wanted, bookedMicros: booked, paid: paid)
    }

    /// Decides every booking in order against each event's capacity.
    func makeLedger() -> Ledger {
        var held = [Int32: Int32]()
        var statuses: [Status] = []
        statuses.reserveCapacity(plan.bookings)
        var payments: [Int] = []
        for index in 0..<plan.bookings {
            let draw = draw(index)
            var status = draw.wanted
            if status.holdsTickets {
                let key = Int32(draw.eventIndex)
                let taken = held[key, default: 0]
                if draw.event.approval != "approved" || taken + draw.tickets > draw.event.totalTickets {
                    status = .failed
                } else {
                    held[key] = taken + draw.tickets
                }
            }
            statuses.append(status)
            if draw.paid && status != .failed || (status == .pending && draw.event.pricePaise > 0) { payments.append(index) }
        }
        return Ledger(statuses: statuses, paymentBookings: payments)
    }

    static let bookingColumns = [
        "id", "user_id", "event_id", "booking_date", "ticket_count", "total_amount", "status", "failure_reason",
        "hold_expires_at", "updated_at",
    ]

    func writeBooking(_ index: Int, status: Status, to writer: inout PostgresCopyWriter) {
        let draw = draw(index)
        writer.beginRow(fields: 10)
        writer.uuid(draw.id)
        writer.uuid(people.userId(draw.userIndex))
        writer.uuid(draw.event.id)
        writer.timestamp(microsecondsSince1970: draw.bookedMicros)
        writer.int32(draw.tickets)
        writer.numeric(draw.event.pricePaise * Int64(draw.tickets), scale: 2)
        writer.text(status.label)
        if status == .failed { writer.text("sold_out") } else { writer.null() }
        if status == .pending { writer.timestamp(microsecondsSince1970: plan.anchorMicros + 15 * 60_000_000) } else { writer.null() }
        writer.timestamp(microsecondsSince1970: draw.bookedMicros + (status == .cancelled ? 86_400_000_000 : 0))
    }

    static let paymentColumns = [
        "id", "booking_id", "payment_intent_id", "razorpay_payment_id", "amount", "currency", "status", "created_at",
        "updated_at", "refund_id", "refund_status", "refund_amount", "refund_attempts",
    ]

    /// Confirmed → `captured`; cancelled after paying → `captured` with a processed full refund; pending → an open order.
    func writePayment(_ index: Int, status: Status, to writer: inout PostgresCopyWriter) {
        let draw = draw(index)
        var random = SeedRandom(seed: plan.seed, stream: .payment, index: index)
        let id = random.uuid()
        let order = "order_" + random.hex(bytes: 7)
        let payment = "pay_" + random.hex(bytes: 7)
        let refund = "rfnd_" + random.hex(bytes: 7)
        writer.beginRow(fields: 13)
        writer.uuid(id)
        writer.uuid(draw.id)
        writer.text(order)
        if status == .pending { writer.null() } else { writer.text(payment) }
        writer.numeric(draw.event.pricePaise * Int64(draw.tickets), scale: 2)
        writer.text("INR")
        writer.text(status == .pending ? "created" : "captured")
        writer.timestamp(microsecondsSince1970: draw.bookedMicros)
        writer.timestamp(microsecondsSince1970: draw.bookedMicros + (status == .cancelled ? 86_400_000_000 : 60_000_000))
        if status == .cancelled {
            writer.text(refund)
            writer.text("processed")
            writer.numeric(draw.event.pricePaise * Int64(draw.tickets), scale: 2)
            writer.int32(1)
        } else {
            writer.null()
            writer.null()
            writer.null()
            writer.int32(0)
        }
    }

    /// Tickets each event in `range` of bookings takes (pending + confirmed), by event id.
    func heldTickets(bookings range: Range<Int>, statuses: [Status]) -> [UUID: Int32] {
        var held: [UUID: Int32] = [:]
        for index in range where statuses[index].holdsTickets {
            let draw = draw(index)
            held[draw.event.id, default: 0] += draw.tickets
        }
        return held
    }
}
