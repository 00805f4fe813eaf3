import HappeningSnappy
import SwiftProtobuf

/// One time series for a remote write: its labels (the metric name among them, under `__name__`) and its samples,
/// oldest first.
public struct RemoteWriteSeries: Sendable, Equatable {
    /// Label name → value; written sorted by name, as the protocol asks. An empty value is not written (Prometheus
    /// treats a label with an empty value as absent).
    public var labels: [String: String]
    public var samples: [RemoteWriteSample]

    public init(labels: [String: String], samples: [RemoteWriteSample]) {
        self.labels = labels
        self.samples = samples
    }

    /// The metric name (`__name__`).
    public var name: String { labels["__name__"] ?? "" }
}

/// One sample: a value at a wall-clock instant (milliseconds since 1970).
public struct RemoteWriteSample: Sendable, Equatable {
    public var value: Double
    public var timestampMillis: Int64

    public init(value: Double, timestampMillis: Int64) {
        self.value = value
        self.timestampMillis = timestampMillis
    }
}

/// The remote write 1.0 body: a `prometheus.WriteRequest` in protobuf, snappy block-compressed.
public enum RemoteWriteBody {
    /// `series` as the bytes a remote write POST carries.
    public static func encode(_ series: [RemoteWriteSeries]) throws -> [UInt8] {
        var request = Prometheus_WriteRequest()
        request.timeseries = series.map { one in
            var timeSeries = Prometheus_TimeSeries()
            timeSeries.labels = one.labels.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { name, value in
                var label = Prometheus_Label()
                label.name = name
                label.value = value
                return label
            }
            timeSeries.samples = one.samples.map { sample in
                var written = Prometheus_Sample()
                written.value = sample.value
                written.timestamp = sample.timestampMillis
                return written
            }
            return timeSeries
        }
        let bytes: [UInt8] = try request.serializedBytes()
        return Snappy.compress(bytes)
    }

    /// What ``encode(_:)`` wrote (a test reads back what was sent).
    public static func decode(_ body: [UInt8]) throws -> [RemoteWriteSeries] {
        let request = try Prometheus_WriteRequest(serializedBytes: try Snappy.uncompress(body))
        return request.timeseries.map { timeSeries in
            RemoteWriteSeries(
                labels: Dictionary(timeSeries.labels.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first }),
                samples: timeSeries.samples.map { RemoteWriteSample(value: $0.value, timestampMillis: $0.timestamp) })
        }
    }
}
