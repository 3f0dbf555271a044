// Danmaku — a live-stream bullet-comment service.

import Synchronization

/// The last minutes of a node's charted figures, one sample a second, so that the dashboard
/// (`/admin`) opens with its charts filled (`GET /v1/admin/stats?since=`) instead of starting
/// from one point. Bounded: `capacity` samples of the charted series only.
public final class StatsHistory: Sendable {
    /// One second's figures.
    public struct Sample: Encodable, Sendable, Equatable {
        /// When it was taken, in milliseconds since 1970.
        public var at: Int64
        /// The charted series (`name` or `name{label="value"}`) and their values.
        public var metrics: [String: Double]
    }

    /// The metrics the dashboard charts (by name; each keeps all its label sets, which are
    /// bounded: reasons of refusal, loops). Histograms by their `_sum` and `_count`.
    public static let chartedMetrics: Set<String> = [
        "danmaku_comments_accepted_total", "danmaku_comments_rejected_total", "danmaku_deliveries_total",
        "danmaku_frames_total", "danmaku_sent_bytes_total", "danmaku_viewers", "danmaku_batch_window_seconds",
        "danmaku_slow_consumer_closes_total", "danmaku_bus_latency_seconds_sum", "danmaku_bus_latency_seconds_count",
    ]

    /// Fifteen minutes of one sample a second.
    public static let defaultCapacity = 900

    public let capacity: Int
    private let ring: Mutex<Ring>

    private struct Ring {
        var samples: [Sample] = []
        /// Where the next sample goes once the ring is full.
        var next = 0
    }

    public init(capacity: Int = StatsHistory.defaultCapacity) {
        self.capacity = max(1, capacity)
        self.ring = Mutex(Ring())
    }

    /// Keeps the charted series of one scrape of `/metrics`, taken at `at`.
    public func record(_ sample: MetricsSample, at: Int64) {
        let charted = sample.series.filter { Self.chartedMetrics.contains(String($0.key.prefix { $0 != "{" })) }
        let entry = Sample(at: at, metrics: charted)
        ring.withLock { ring in
            if ring.samples.count < capacity {
                ring.samples.append(entry)
            } else {
                ring.samples[ring.next] = entry
                ring.next = (ring.next + 1) % capacity
            }
        }
    }

    /// The samples taken after `since` (milliseconds since 1970), oldest first.
    public func samples(after since: Int64) -> [Sample] {
        ring.withLock { ring in
            let ordered = ring.samples[ring.next...] + ring.samples[..<ring.next]
            return ordered.filter { $0.at > since }
        }
    }
}

/// What a node tells about itself over HTTP: its metrics (`GET /metrics`), its readiness
/// (`GET /readyz`), every node's viewers and its recent figures (the dashboard).
public struct NodeFigures: Sendable {
    /// The Prometheus text exposition.
    public var metricsText: @Sendable () -> [UInt8]
    /// Why the node should not get traffic now, or nil.
    public var unreadiness: @Sendable () -> String?
    /// Node name → room → viewers, for every node that reports.
    public var nodeReports: @Sendable () async -> [String: [String: Int]]
    /// The last minutes of charted figures; nil keeps none.
    public var history: StatsHistory?

    public init(
        metricsText: @escaping @Sendable () -> [UInt8], unreadiness: @escaping @Sendable () -> String? = { nil },
        nodeReports: @escaping @Sendable () async -> [String: [String: Int]] = { [:] }, history: StatsHistory? = nil
    ) {
        self.metricsText = metricsText
        self.unreadiness = unreadiness
        self.nodeReports = nodeReports
        self.history = history
    }
}
