import Foundation
import HappeningGeo
import HappeningModel
import HappeningPostgres
import HappeningSystem

/// Events scattered around the gazetteer's cities, computed from their index.
///
/// Cities are drawn by population; within a city, positions follow a normal spread whose radius grows with
/// the city, and 2 % are outliers 20–150 km out (a resort, a highway venue). Dates fall 90 days back to
/// 180 days ahead with a weekend bias, at Indian evening-heavy times; prices are skewed with 15 % free;
/// ticket totals are log-normal (most events 30–500 seats, a few stadiums).
struct EventFactory: Sendable {
    let plan: SeedPlan
    let people: PeopleFactory
    private let cityTable: WeightedTable
    private let categoryTable = WeightedTable(weights: WordLists.categoryWeights)
    /// Half-hour slots from 10:00 to 21:30 local time; evenings weigh more.
    private let slotTable = WeightedTable(weights: (0..<24).map { $0 < 12 ? 1 : ($0 < 18 ? 2.5 : 4) })

    /// The description openings split around their `{city}` placeholder.
    private let openings: [(before: String, after: String)]

    init(plan: SeedPlan) {
        self.plan = plan
        openings = WordLists.openings.map { template in
            let range = template.range(of: "{city}")!
            return (String(template[..<range.lowerBound]), String(template[range.upperBound...]))
        }
        people = PeopleFactory(plan: plan)
        cityTable = WeightedTable(weights: plan.cityWeights)
    }

    /// One generated event (money in paise, coordinates in micro-degrees, times in µs since 1970).
    struct Event {
        var id: UUID
        var createdBy: UUID
        var title: String
        var description: String
        var dateMicros: Int64
        var venue: String
        var totalTickets: Int32
        var pricePaise: Int64
        var category: EventCategory
        var imageURL: String
        var createdMicros: Int64
        var updatedMicros: Int64
        var isCancelled: Bool
        var approval: String
        var adminNotes: String?
        var approvedBy: UUID?
        var approvedAtMicros: Int64?
        var latitudeMicro: Int64
        var longitudeMicro: Int64

        /// Open for booking as of the anchor: approved, not cancelled.
        var isPublic: Bool { approval == "approved" && !isCancelled }
    }

    func event(_ index: Int) -> Event {
        var random = SeedRandom(seed: plan.seed, stream: .event, index: index)
        let id = random.uuid()
        // Hosts: a few prolific ones (quadratic skew towards low indices).
        let u = random.unit()
        let host = people.userId(min(plan.hosts - 1, Int(u * u * Double(plan.hosts))))
        let category = EventCategory.allCases[categoryTable.pick(using: &random)]
        let cityIndex = cityTable.pick(using: &random)
        let city = plan.cities[cityIndex]

        let parts = WordLists.titleParts(category)
        let adjective = random.pick(parts.adjectives)
        let noun = random.pick(parts.nouns)
        let title: String
        switch random.below(4) {
        case 0: title = "\(city.name) \(noun)"
        case 1: title = "\(adjective) \(noun) \(random.pick(parts.suffixes))"
        default: title = "\(adjective) \(noun)"
        }
        let opening = random.pick(openings)
        let description = opening.before + city.name + opening.after + " " + random.pick(WordLists.closings)
        let venue = "\(random.pick(WordLists.venues)), \(city.name)"

        // When: −90 … +180 days, weekdays often moved to the coming weekend.
        var day = random.within(-90...180)
        let weekday = ((plan.anchorDay + day) % 7 + 7 + 4) % 7  // 0 = Sunday (1970-01-01 was a Thursday)
        if (1...4).contains(weekday), random.chance(0.45) {
            let toWeekend = 6 - weekday + random.below(2)
            if day + toWeekend <= 180 { day += toWeekend }
        }
        let slot = slotTable.pick(using: &random)
        let localSeconds = Int64(10 * 3600 + slot * 1800)
        let dateMicros = (Int64(plan.anchorDay + day) * 86_400 - SeedPlan.indiaOffsetSeconds + localSeconds) * 1_000_000

        // Where: a normal spread around the city centre, radius growing with population; a few outliers.
        let population = plan.cityWeights[cityIndex]
        let radiusKm = 2 + 2.5 * (population / 100).squareRoot()
        let distanceKm: Double
        if random.chance(0.02) { distanceKm = 20 + random.unit() * 130 } else { distanceKm = abs(random.gaussian()) * radiusKm / 2 }
        let bearing = random.unit() * 2 * Double.pi
        let latitude = max(-89.9, min(89.9, city.latitude + distanceKm * cos(bearing) / 111.32))
        let longitude = city.longitude + distanceKm * sin(bearing) / (111.32 * cos(latitude * Double.pi / 180))

        // How many and how much.
        var total = Int(exp(4.6 + 1.0 * random.gaussian()).rounded())
        total = max(10, min(50_000, total))
        if total > 100 { total = (total + 5) / 10 * 10 }
        var pricePaise: Int64 = 0
        if !random.chance(category == .health || category == .tech ? 0.25 : 0.12) {
            let rupees = Int64(max(49, min(19_999, exp(6.1 + 0.8 * random.gaussian()))))
            pricePaise = max(49, (rupees + 25) / 50 * 50 - 1) * 100  // 49, 99, 149 … like real price tags
        }

        // Review and lifecycle.
        let created = min(
            dateMicros - Int64(random.within(7...90)) * SeedPlan.microsecondsPerDay,
            plan.anchorMicros - Int64(random.within(1...48)) * 3_600_000_000)
        let roll = random.unit()
        let approval = roll < 0.85 ? "approved" : (roll < 0.94 ? "pending" : "rejected")
        var approvedAt: Int64?
        var notes: String?
        if approval != "pending" {
            approvedAt = min(created + Int64(random.within(1...72)) * 3_600_000_000, plan.anchorMicros)
            if approval == "rejected" { notes = random.pick(WordLists.rejectionNotes) }
        }
        let cancelled = approval == "approved" && random.chance(0.03)
        if cancelled { notes = "Cancelled by the host." }

        return Event(
            id: id, createdBy: host, title: title, description: description, dateMicros: dateMicros, venue: venue,
            totalTickets: Int32(total), pricePaise: pricePaise, category: category,
            imageURL: "https://images.happening.test/\(category.rawValue)/\(random.within(1...40)).jpg",
            createdMicros: created, updatedMicros: approvedAt ?? created, isCancelled: cancelled, approval: approval,
            adminNotes: notes, approvedBy: approvedAt == nil ? nil : people.adminId, approvedAtMicros: approvedAt,
            latitudeMicro: Int64((latitude * 1_000_000).rounded()), longitudeMicro: Int64((longitude * 1_000_000).rounded()))
    }

    static let columns = [
        "id", "created_by", "title", "description", "date_time", "venue", "total_tickets", "available_tickets", "price",
        "category", "image_url", "created_at", "updated_at", "is_cancelled", "approval_status", "admin_notes",
        "approved_by", "approved_at", "latitude", "longitude",
    ]

    /// Writes event `index` in ``columns`` order with `held` tickets already taken by its bookings.
    func write(_ event: Event, held: Int32, to writer: inout PostgresCopyWriter) {
        writer.beginRow(fields: 20)
        writer.uuid(event.id)
        writer.uuid(event.createdBy)
        writer.text(event.title)
        writer.text(event.description)
        writer.timestamp(microsecondsSince1970: event.dateMicros)
        writer.text(event.venue)
        writer.int32(event.totalTickets)
        writer.int32(event.totalTickets - held)
        writer.numeric(event.pricePaise, scale: 2)
        writer.text(event.category.rawValue)
        writer.text(event.imageURL)
        writer.timestamp(microsecondsSince1970: event.createdMicros)
        writer.timestamp(microsecondsSince1970: event.updatedMicros)
        writer.bool(event.isCancelled)
        writer.text(event.approval)
        if let notes = event.adminNotes { writer.text(notes) } else { writer.null() }
        if let approvedBy = event.approvedBy { writer.uuid(approvedBy) } else { writer.null() }
        if let approvedAt = event.approvedAtMicros { writer.timestamp(microsecondsSince1970: approvedAt) } else { writer.null() }
        writer.numeric(event.latitudeMicro, scale: 6)
        writer.numeric(event.longitudeMicro, scale: 6)
    }
}
