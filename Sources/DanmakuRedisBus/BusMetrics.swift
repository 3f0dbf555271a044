// Danmaku — a live-stream bullet-comment service.

import CoreMetrics

/// What the distributed bus counts, exported at `GET /metrics`.
public struct BusMetrics: Sendable {
    /// Batches published (one message per room per publish window).
    public let published: Counter
    /// Publishes Redis did not take (push nodes repair them from the stream).
    public let publishFailures: Counter
    /// Comments a push node read from the stream because pub/sub did not bring them.
    public let repaired: Counter
    /// Retractions a push node read back from the retraction stream because pub/sub did not bring them.
    public let retractionsRepaired: Counter
    /// Comments a failover numbered with a seq a push node had already passed, told as a gap.
    public let renumbered: Counter
    /// Comments a push node passed on that a failover lost (history does not hold them), taken
    /// off its viewers' screens.
    public let lost: Counter
    /// Times a push node raised a room's counter that a failover had put behind seqs it was given.
    public let countersRaised: Counter
    /// Bus messages received by a push node.
    public let received: Counter
    /// Comments taken back because fewer replicas than `--bus-min-replicas` confirmed them (503).
    public let unreplicated: Counter

    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        published = Counter(label: "danmaku_bus_messages_published_total", factory: factory)
        publishFailures = Counter(label: "danmaku_bus_publish_failures_total", factory: factory)
        repaired = Counter(label: "danmaku_bus_comments_repaired_total", factory: factory)
        retractionsRepaired = Counter(label: "danmaku_bus_retractions_repaired_total", factory: factory)
        renumbered = Counter(label: "danmaku_bus_comments_renumbered_total", factory: factory)
        lost = Counter(label: "danmaku_bus_comments_lost_retracted_total", factory: factory)
        countersRaised = Counter(label: "danmaku_bus_counters_raised_total", factory: factory)
        received = Counter(label: "danmaku_bus_messages_received_total", factory: factory)
        unreplicated = Counter(label: "danmaku_bus_comments_unreplicated_total", factory: factory)
    }
}
