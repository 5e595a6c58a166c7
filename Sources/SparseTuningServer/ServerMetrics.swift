// ServerMetrics: the server's Prometheus metrics, in a registry of its own (no process-wide metrics backend):
// requests by task and status, request latency, batch sizes and durations, and the queue depth.
import Prometheus
import SparseTuning

/// The metrics of one ``InferenceServer``, exposed at `GET /metrics`.
final class ServerMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let batchImages: ValueHistogram
    private let batchSeconds: DurationHistogram
    private let queueDepth: Gauge
    private static var requests: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sparse_tune", metricName: "requests", unitName: "total", helpText: "HTTP requests by task and status")
    }
    private static var requestSeconds: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sparse_tune", metricName: "request_duration", unitName: "seconds",
                             helpText: "Time from request to response, by task")
    }
    private static let latencyBuckets: [Duration] = [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                                                     .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                                                     .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
                                                     .seconds(10), .seconds(30)]

    init() {
        batchImages = registry.makeValueHistogram(
            descriptor: MetricNameDescriptor(namespace: "sparse_tune", metricName: "batch", unitName: "images",
                                             helpText: "Images per forward pass"),
            buckets: [1, 2, 4, 8, 16, 32, 64, 128])
        batchSeconds = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(namespace: "sparse_tune", metricName: "batch_duration", unitName: "seconds",
                                             helpText: "Duration of one batched forward pass"),
            buckets: Self.latencyBuckets)
        queueDepth = registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "sparse_tune", metricName: "queue", unitName: "depth",
                                             helpText: "Requests waiting for a forward pass"))
    }

    /// A finished request: `task` ("-" when none), its HTTP status and the time from arrival to response.
    func request(task: String, status: Int, duration: Duration) {
        registry.makeCounter(descriptor: Self.requests, labels: [("task", task), ("status", "\(status)")]).increment()
        registry.makeDurationHistogram(descriptor: Self.requestSeconds, labels: [("task", task)], buckets: Self.latencyBuckets)
            .record(duration)
    }

    /// Feeds the batcher's reports into these metrics.
    var batcherObserver: BatcherObserver {
        BatcherObserver(batchRan: { [self] images, _, duration in
            batchImages.record(Double(images))
            batchSeconds.record(duration)
        }, queueDepth: { [self] depth in queueDepth.set(Double(depth)) })
    }

    /// The Prometheus text exposition.
    func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
