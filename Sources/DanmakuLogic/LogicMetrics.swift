// Danmaku — a live-stream bullet-comment service.

import CoreMetrics
import DanmakuCore

/// The logic tier's metrics: comments accepted, rejected by reason, and how long a post took.
public struct LogicMetrics: Sendable {
    private let factory: any MetricsFactory
    private let accepted: Counter
    private let acceptedDuration: Timer
    private let rejectedDuration: Timer
    private let idempotencyStoreFailures: Counter

    /// The post duration histogram's name, for its buckets.
    public static let postDurationLabel = "danmaku_post_duration_seconds"
    /// From 250 µs (a memory bus) to 5 s (a command timing out on a remote one).
    public static let postDurationBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
    ]

    /// Metrics made by `factory` (no-op by default, e.g. in unit tests).
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        accepted = Counter(label: "danmaku_comments_accepted_total", factory: factory)
        acceptedDuration = Timer(label: Self.postDurationLabel, dimensions: [("outcome", "accepted")], factory: factory)
        rejectedDuration = Timer(label: Self.postDurationLabel, dimensions: [("outcome", "rejected")], factory: factory)
        idempotencyStoreFailures = Counter(label: "danmaku_idempotency_store_failures_total", factory: factory)
    }

    func didAccept(after duration: Duration) {
        accepted.increment()
        acceptedDuration.recordNanoseconds(Self.nanoseconds(duration))
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    /// Counts a refusal under its error code (`rate_limited`, `filtered`, …).
    func didReject(_ error: DanmakuError, after duration: Duration) {
        Counter(label: "danmaku_comments_rejected_total", dimensions: [("reason", error.code)], factory: factory).increment()
        rejectedDuration.recordNanoseconds(Self.nanoseconds(duration))
    }

    /// Counts an idempotency key whose answer or release the store did not take (the key stays
    /// reserved until its window passes).
    func didFailIdempotencyStore() {
        idempotencyStoreFailures.increment()
    }
}
