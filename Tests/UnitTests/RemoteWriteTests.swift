import Foundation
import HappeningSnappy
import PrometheusRemoteWrite
import TestSupport
import Testing

@testable import HappeningBench

@Suite("Prometheus remote write: snappy, the protobuf body, the per-second series")
struct RemoteWriteTests {
    @Test("snappy round-trips empty, small, repetitive and random inputs; garbage is refused")
    func snappy() throws {
        var random = SystemRandomNumberGenerator()
        let inputs: [[UInt8]] = [
            [], Array("a".utf8), [UInt8](repeating: 7, count: 100_000), (0..<65_537).map { _ in UInt8.random(in: 0...255, using: &random) },
        ]
        for input in inputs {
            let compressed = Snappy.compress(input)
            #expect(try Snappy.uncompress(compressed) == input)
        }
        #expect(Snappy.compress([UInt8](repeating: 7, count: 100_000)).count < 6_000)
        #expect(throws: SnappyError.self) { try Snappy.uncompress([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) }
    }

    @Test("the body is prometheus.WriteRequest on the wire (field numbers of prompb), labels sorted, empty labels left out")
    func wireBytes() throws {
        let series = RemoteWriteSeries(labels: ["a": "b", "empty": ""], samples: [RemoteWriteSample(value: 1.0, timestampMillis: 2)])
        let bytes = try Snappy.uncompress(try RemoteWriteBody.encode([series]))
        // WriteRequest.timeseries (1) → TimeSeries.labels (1) {name (1) "a", value (2) "b"}, samples (2) {value (1,
        // fixed64) 1.0, timestamp (2, varint) 2}.
        let label: [UInt8] = [0x0a, 0x01, 0x61, 0x12, 0x01, 0x62]
        let sample: [UInt8] = [0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x02]
        let timeSeries: [UInt8] = [0x0a, UInt8(label.count)] + label + [0x12, UInt8(sample.count)] + sample
        #expect(bytes == [0x0a, UInt8(timeSeries.count)] + timeSeries)

        let many = [
            RemoteWriteSeries(labels: ["__name__": "x_total", "z": "1", "b": "2"], samples: [RemoteWriteSample(value: 3, timestampMillis: 1_700_000_000_000)]),
            RemoteWriteSeries(
                labels: ["__name__": "y"], samples: [RemoteWriteSample(value: -0.25, timestampMillis: 1), RemoteWriteSample(value: 9, timestampMillis: 2)]),
        ]
        #expect(try RemoteWriteBody.decode(try RemoteWriteBody.encode(many)) == many)
    }

    @Test("the client takes http(s) URLs only and never shows credentials")
    func clientURL() throws {
        #expect(throws: RemoteWriteError.self) { try RemoteWriteClient(url: "ftp://127.0.0.1/write") }
        #expect(throws: RemoteWriteError.self) { try RemoteWriteClient(url: "not a url") }
        let client = try RemoteWriteClient(url: "https://user:s3cret@metrics.example/api/v1/write")
        #expect(client.displayURL == "https://metrics.example/api/v1/write")
        do {
            _ = try RemoteWriteClient(url: "gopher://user:s3cret@metrics.example/")
        } catch {
            #expect(!"\(error)".contains("s3cret"))
        }
    }

    @Test("no receiver there: the writes are counted lost and the error names the endpoint without its password")
    func unreachable() async throws {
        let url = "http://bench:pa55word@127.0.0.1:\(TestPorts.next())/api/v1/write"
        let stream = RemoteWriteStream(client: try RemoteWriteClient(url: url, attempts: 2), labels: ["run_id": "r2"])
        stream.add("happening_bench_second_requests", value: 1, atMillis: 1_000)
        let running = Task { await stream.run() }
        stream.stop()
        await running.value
        let report = stream.report
        #expect(report.writes == 0 && report.failed_writes == 1 && report.dropped_samples == 2, "\(report)")  // the sample and the CPU's
        #expect(report.last_error?.contains("127.0.0.1") == true && !(report.sentence.contains("pa55word")), "\(report.sentence)")
    }

    @Test("a phase's seconds are written once every loop handed them over, in order; counters add up; the last second ends with the phase")
    func phaseSeries() throws {
        let feed = LiveFeed()
        let loops = [feed.register(), feed.register()]
        let clock = PhaseClock(monotonicStart: 0)
        let stream = RemoteWriteStream(client: try RemoteWriteClient(url: "http://127.0.0.1:9/api/v1/write"), labels: ["run_id": "r1"])
        var series = PhaseSeries(phase: "steady", lane: "", routes: ["home", "search"], clock: clock)
        func second(_ latencies: [(route: Int, micros: UInt64, failed: Bool)]) -> SecondBucket {
            var bucket = SecondBucket()
            for (route, micros, failed) in latencies {
                bucket.requests += 1
                if failed { bucket.errors += 1 }
                bucket.latency.record(nanoseconds: micros * 1_000)
                bucket.routes[route, default: RouteSecond()].record(nanoseconds: micros * 1_000, failed: failed)
            }
            return bucket
        }
        feed.add(second: 0, second([(0, 1_000, false), (1, 3_000, true)]))
        feed.add(second: 1, second([(0, 2_000, false)]))
        feed.add(second: 2, second([(0, 4_000, false), (0, 4_000, false)]))
        // Loop 0 is in second 2, loop 1 still in second 1: only second 0 is final.
        feed.recording(loop: loops[0], second: 2)
        feed.recording(loop: loops[1], second: 1)
        series.emitFinal(from: feed, to: stream)
        var written = stream.drain()
        let start = clock.wallStartMicros / 1_000
        func values(_ name: String, _ labels: [String: String] = [:]) -> [RemoteWriteSample] {
            written.filter { series in series.name == name && labels.allSatisfy { key, value in series.labels[key] == value } }.flatMap(\.samples)
        }
        #expect(values("happening_bench_second_requests") == [RemoteWriteSample(value: 2, timestampMillis: start + 1_000)])
        #expect(values("happening_bench_errors_total", ["route": "search"]) == [RemoteWriteSample(value: 1, timestampMillis: start + 1_000)])
        #expect(values("happening_bench_latency_seconds", ["quantile": "1"]).map(\.value) == [Self.phaseMax(micros: 3_000)])
        #expect(written.allSatisfy { $0.labels["run_id"] == "r1" && $0.labels["phase"] == "steady" && $0.labels["lane"] == nil })

        // Both loops ended: the rest goes, the last second stamped with the phase's end.
        feed.recording(loop: loops[0], second: .max)
        feed.recording(loop: loops[1], second: .max)
        series.emitRest(from: feed, to: stream, endedAtMillis: start + 2_400)
        written = stream.drain()
        #expect(values("happening_bench_requests_total", ["route": "home"]).map(\.value) == [2, 4])
        #expect(values("happening_bench_requests_total", ["route": "search"]).map(\.value) == [1, 1])
        #expect(values("happening_bench_second_requests").map(\.timestampMillis) == [start + 2_000, start + 2_400])
        #expect(values("happening_bench_route_latency_seconds", ["route": "home", "quantile": "0.99"]).map(\.value) == [2_000, 4_000].map(Self.routeP99))
    }

    /// What the histograms make of one latency (their buckets' highest equivalent value), in seconds.
    private static func phaseMax(micros: UInt64) -> Double {
        var histogram = LatencyHistogram()
        histogram.record(nanoseconds: micros * 1_000)
        return Double(histogram.max) / 1e6
    }

    private static func routeP99(micros: UInt64) -> Double {
        var route = RouteSecond()
        route.record(nanoseconds: micros * 1_000, failed: false)
        return Double(route.point(name: "").p99_us) / 1e6
    }
}
