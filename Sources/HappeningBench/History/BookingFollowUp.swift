import Foundation
import HappeningHTTP

/// Asks, as each customer would, what became of their accepted bookings: the status route (`path`, `{id}` replaced
/// by the booking id) with that customer's token, every accepted booking once a round, until it tells an outcome or
/// `deadline` passes. Rounds start 200 ms apart, growing to a second; at most `concurrency` asks at once, so a big
/// sale's follow-up adds a bounded load. Bookings are handed over as phases end (``follow(_:)``) and asked about
/// while later phases run: a customer hears of an outcome soon after the worker decides it, as a real one polling would.
/// `bound` after an outcome was told, the customer's own bookings list (`listPath`) is read once: does it show it?
actor BookingFollowUp {
    private let target: String
    private let path: String
    private let field: String
    /// The status route's words in the history's (another system's `held` → `confirmed` …); a word not here is kept.
    private let words: [String: String]
    private let users: VirtualUsers
    private let deadline: Duration
    private let tls: TLSVerification
    private let client: CurlHTTPClient
    private let listPath: String?
    private let bound: Duration
    private var waiting: [ToldOutcome] = []
    /// Told an outcome; their list is read once it is due.
    private var listing: [(outcome: ToldOutcome, due: ContinuousClock.Instant)] = []
    private var done: [ToldOutcome] = []
    /// Bookings handed over and not yet told an outcome (nor given up on at the deadline).
    private var untold = 0
    private var started: ContinuousClock.Instant?
    private var rounds: Task<Void, Never>?

    init(
        target: String, path: String, field: String = "status", words: [String: String] = [:], listPath: String?, bound: Duration, users: VirtualUsers,
        deadline: Duration,
        tls: TLSVerification, concurrency: Int = 8
    ) {
        self.target = target.hasSuffix("/") ? String(target.dropLast()) : target
        self.listPath = listPath
        self.bound = bound
        self.path = path
        self.field = field
        self.words = words
        self.users = users
        self.deadline = deadline
        self.tls = tls
        self.client = CurlHTTPClient(maxConcurrentRequests: concurrency, queueTimeout: .seconds(300))
    }

    /// Starts asking about `answers`' accepted bookings (those with an id).
    func follow(_ answers: [BookingAnswer]) {
        let accepted = answers.filter { $0.status == 202 && !($0.booking_id ?? "").isEmpty }
        guard !accepted.isEmpty else { return }
        untold += accepted.count
        waiting += accepted.map {
            ToldOutcome(booking_id: $0.booking_id!, user: $0.user, told: nil, http_status: 0, asked_micros: 0, answered_micros: 0, asks: 0)
        }
        if started == nil { started = .now }
        if rounds == nil { rounds = Task { await self.ask() } }
    }

    /// Returns once every booking handed over so far was told its outcome, or given up on at the deadline (a phase's
    /// `after_outcomes`); the lists' reads may still be due.
    func settled() async {
        while untold > 0, rounds != nil { try? await Task.sleep(for: .milliseconds(20)) }
    }

    /// Waits for every booking's outcome (or the deadline) and returns what each customer was last told.
    func finish() async -> [ToldOutcome] {
        while let running = rounds { await running.value }
        await client.shutdown()
        return done + listing.map(\.outcome) + waiting
    }

    /// Rounds until nothing waits or the deadline passes.
    private func ask() async {
        var pause = Duration.milliseconds(200)
        while !waiting.isEmpty || !listing.isEmpty, let started, ContinuousClock.now - started < deadline + bound {
            let round = waiting
            waiting = []
            let now = ContinuousClock.now
            let due = listing.filter { $0.due <= now }.map(\.outcome)
            listing.removeAll { $0.due <= now }
            let answered = await withTaskGroup(of: (ToldOutcome, listed: Bool).self) { group in
                for booking in round { group.addTask { (await self.ask(booking), false) } }
                for booking in due { group.addTask { (await self.askList(booking), true) } }
                var all: [(ToldOutcome, listed: Bool)] = []
                for await outcome in group { all.append(outcome) }
                return all
            }
            let expired = ContinuousClock.now - started >= deadline
            for (outcome, wasListing) in answered {
                if !wasListing, outcome.hasOutcome || expired { untold -= 1 }
                if wasListing || (outcome.hasOutcome && listPath == nil) {
                    done.append(outcome)
                } else if outcome.hasOutcome {
                    listing.append((outcome, .now + bound))
                } else if !expired {
                    waiting.append(outcome)
                } else {
                    done.append(outcome)
                }
            }
            if waiting.isEmpty && listing.isEmpty { break }
            let nextList = listing.map(\.due).min().map { $0 - .now } ?? pause
            try? await Task.sleep(for: waiting.isEmpty ? max(.milliseconds(10), nextList) : min(pause, max(.milliseconds(10), nextList)))
            pause = min(.seconds(1), pause * 3 / 2)
        }
        rounds = nil
    }

    /// Reads `booking`'s customer's own bookings list once: does it show the booking?
    private nonisolated func askList(_ booking: ToldOutcome) async -> ToldOutcome {
        guard let listPath else { return booking }
        var outcome = booking
        let headers = users.isEmpty ? [] : [(name: "Authorization", value: "Bearer \(users[booking.user].token)")]
        let asked = Self.wallMicros()
        guard let response = try? await client.send(HTTPClientRequest(url: target + listPath, headers: headers, timeout: .seconds(10), tls: tls)),
            response.status == 200
        else { return outcome }
        outcome.listed_asked_micros = asked
        outcome.listed_answered_micros = Self.wallMicros()
        let id = Array(booking.booking_id.lowercased().utf8)
        outcome.listed = response.body.withUnsafeBytes { ResponseFields.contains(id, in: $0) }
        return outcome
    }

    /// One ask about `booking`: its status, when it was asked and answered.
    private nonisolated func ask(_ booking: ToldOutcome) async -> ToldOutcome {
        var outcome = booking
        let url = target + path.replacingOccurrences(of: "{id}", with: booking.booking_id)
        let headers = users.isEmpty ? [] : [(name: "Authorization", value: "Bearer \(users[booking.user].token)")]
        let asked = Self.wallMicros()
        outcome.asks += 1
        guard let response = try? await client.send(HTTPClientRequest(url: url, headers: headers, timeout: .seconds(10), tls: tls)) else {
            return outcome
        }
        outcome.asked_micros = asked
        outcome.answered_micros = Self.wallMicros()
        outcome.http_status = response.status
        let said = response.status == 200 ? response.body.withUnsafeBytes { ResponseFields.string(field, in: $0) } : nil
        outcome.told = said.map { words[$0] ?? $0 } ?? (response.status == 404 ? "not found" : nil)
        return outcome
    }

    private static func wallMicros() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }
}
