import Testing

@testable import HappeningBench

/// The generator check's limits, applied to seconds constructed here.
@Suite("Bench: when the generator counts as the bottleneck", .timeLimit(.minutes(10)))
struct GeneratorCheckUnitTests {
    static func second(cpu: Double?, lagMicros: [UInt64], waitedMilliseconds: UInt64, threads: Int = 1) -> GeneratorMonitor.Second {
        var second = GeneratorMonitor.Second()
        second.cpu = cpu
        for lag in lagMicros { second.lag.record(microseconds: lag) }
        second.runqueueNanoseconds = waitedMilliseconds * 1_000_000
        second.loopThreads = threads
        return second
    }

    @Test("CPU at 90 % of the allowed cores, lag p99 over 10 ms, or loops waiting for a CPU 10 % of the time: each alone warns")
    func limits() throws {
        let calm = Array(repeating: UInt64(5), count: 1_000)
        let healthy = try #require(GeneratorMonitor.check([Self.second(cpu: 0.4, lagMicros: calm, waitedMilliseconds: 20)], coresAllowed: 2))
        #expect(healthy.reasons.isEmpty && !healthy.saturated)
        #expect(healthy.cpu_mean == 0.4 && healthy.wakes == 1_000 && healthy.cores_allowed == 2)

        let busy = try #require(
            GeneratorMonitor.check(
                [Self.second(cpu: 0.96, lagMicros: calm, waitedMilliseconds: 0), Self.second(cpu: 0.9, lagMicros: calm, waitedMilliseconds: 0)], coresAllowed: 1
            ))
        #expect(busy.reasons.count == 1 && busy.reasons[0].contains("CPU averaged 93%"), "\(busy.reasons)")

        let late = try #require(
            GeneratorMonitor.check([Self.second(cpu: 0.1, lagMicros: calm + Array(repeating: 20_000, count: 20), waitedMilliseconds: 0)], coresAllowed: 1))
        #expect(late.reasons.count == 1 && late.reasons[0].contains("woke late"), "\(late.reasons)")

        // 300 ms waited over two loop threads in one second: 15 % each.
        let waiting = try #require(GeneratorMonitor.check([Self.second(cpu: 0.1, lagMicros: calm, waitedMilliseconds: 300, threads: 2)], coresAllowed: 2))
        #expect(waiting.reasons.count == 1 && waiting.reasons[0].contains("15%"), "\(waiting.reasons)")

        // One late wake in a thousand does not move the p99.
        let hiccup = try #require(GeneratorMonitor.check([Self.second(cpu: 0.1, lagMicros: calm + [50_000], waitedMilliseconds: 0)], coresAllowed: 1))
        #expect(hiccup.reasons.isEmpty && hiccup.lag_max_us >= 49_000)
        #expect(GeneratorMonitor.check([], coresAllowed: 1) == nil)
    }
}
