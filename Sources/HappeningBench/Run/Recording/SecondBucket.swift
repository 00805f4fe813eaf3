import Foundation
import HappeningLoad
import Histogram
import Synchronization

/// One second of a phase, summed over threads: what the live display and the throughput chart show.
struct SecondBucket: Sendable {
    var requests: UInt64 = 0
    var errors: UInt64 = 0
    /// Answers with a 5xx status, expected or not (an outage the scenario allows is still drawn).
    var status5xx: UInt64 = 0
    var cacheHits: UInt64 = 0
    var cacheMisses: UInt64 = 0
    var latency = LatencyHistogram()
    /// The second route by route (by template index), for `diff`'s per-route intervals.
    var routes: [Int: RouteSecond] = [:]

    mutating func add(_ other: SecondBucket) {
        requests += other.requests
        errors += other.errors
        status5xx += other.status5xx
        cacheHits += other.cacheHits
        cacheMisses += other.cacheMisses
        latency.add(other.latency)
        for (template, route) in other.routes { routes[template, default: RouteSecond()].add(route) }
    }

    /// This second's routes as timeline points, named by `infos`.
    func routePoints(_ infos: [TemplateInfo]) -> [PhaseResult.RoutePoint] {
        routes.sorted { $0.key < $1.key }.compactMap { template, route in
            template < infos.count ? route.point(name: infos[template].name) : nil
        }
    }
}

/// One route's requests, unexpected answers and latency in one second. The latency is kept at two significant
/// digits (1 %: 2,560 counters, 20 KB, where three digits take 17,408, 139 KB): enough for the second's
/// percentiles, which is all `diff` reads.
struct RouteSecond: Sendable {
    var requests: UInt64 = 0
    var errors: UInt64 = 0
    var latency = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: LatencyHistogram.highest, numberOfSignificantValueDigits: .two)

    mutating func record(nanoseconds: UInt64, failed: Bool) {
        requests += 1
        if failed { errors += 1 }
        _ = latency.record(Swift.min(LatencyHistogram.highest, Swift.max(1, nanoseconds / 1_000)))
    }

    mutating func add(_ other: RouteSecond) {
        requests += other.requests
        errors += other.errors
        latency.add(other.latency)
    }

    func point(name: String) -> PhaseResult.RoutePoint {
        PhaseResult.RoutePoint(
            name: name, requests: requests, errors: errors, p50_us: requests == 0 ? 0 : latency.valueAtPercentile(50),
            p99_us: requests == 0 ? 0 : latency.valueAtPercentile(99))
    }
}
