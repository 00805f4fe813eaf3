import Foundation
import HappeningAuth
import HappeningGeo

/// What one run generates: validated sizes, the seed and the calendar anchor. Every row is a pure function
/// of a plan and the row's index.
struct SeedPlan: Sendable {
    var seed: UInt64
    /// The UTC day (days since 1970-01-01) event dates are relative to: −90 … +180 days around it.
    var anchorDay: Int
    var users: Int
    /// The first `hosts` users are approved hosts with bank accounts.
    var hosts: Int
    var events: Int
    var bookings: Int
    /// Where events happen (the whole gazetteer unless narrowed), weighted by population.
    var cities: [Gazetteer.City]
    var cityWeights: [Double]
    /// The password hash every seeded account gets: the published development password's
    /// (``DevCredentials/passwordHash``) only when seeding a development stack (`DEV_MODE=1`), else one no password
    /// is known to match (``DevCredentials/lockedHash()``): bench users sign in with minted tokens, not passwords.
    var passwordHash = DevCredentials.passwordHash

    static let microsecondsPerDay: Int64 = 86_400 * 1_000_000
    /// India's offset from UTC (+05:30): event times are chosen on the local clock.
    static let indiaOffsetSeconds: Int64 = 19_800

    /// The plan that adds `missing` events (none when it is 0 or less) to a database already holding `present`, with
    /// hosts of their own (a user per 100 events, at least 100; one in 20 a host) and a seed of their own: rows of one
    /// seed can be loaded only once, so the seed moves with what is present.
    func toppingUp(events missing: Int, present: Int) -> SeedPlan {
        var plan = self
        plan.seed = seed &+ UInt64(max(0, present))
        plan.events = max(0, missing)
        plan.users = missing > 0 ? max(100, missing / 100) : 0
        plan.hosts = plan.users == 0 ? 0 : max(1, plan.users / 20)
        plan.bookings = 0
        return plan
    }

    /// Midnight UTC of the anchor day, in microseconds since 1970.
    var anchorMicros: Int64 { Int64(anchorDay) * Self.microsecondsPerDay }

    /// The anchor as `YYYY-MM-DD`.
    var anchorDate: String { Self.format(day: anchorDay) }

    /// The domain every seeded e-mail address uses, distinct per seed so runs with different seeds append.
    var emailDomain: String { "seed\(seed).happening.test" }

    static func format(day: Int) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let date = Date(timeIntervalSince1970: Double(day) * 86_400)
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }

    /// Parses `YYYY-MM-DD` into a UTC day number.
    static func parse(day text: String) -> Int? {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, text.count == 10 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])),
            calendar.component(.day, from: date) == parts[2]
        else { return nil }
        return Int(date.timeIntervalSince1970 / 86_400)
    }
}
