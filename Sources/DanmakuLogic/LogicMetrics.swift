// Danmaku — a live-stream bullet-comment service.

import CoreMetrics
import DanmakuCore

/// The logic tier's metrics: comments accepted, and rejected by reason.
public struct LogicMetrics: Sendable {
    private let factory: any MetricsFactory
    private let accepted: Counter

    /// Metrics made by `factory` (no-op by default, e.g. in unit tests).
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        accepted = Counter(label: "danmaku_comments_accepted_total", factory: factory)
    }

    func didAccept() {
        accepted.increment()
    }

    /// Counts a refusal under its error code (`rate_limited`, `filtered`, …).
    func didReject(_ error: DanmakuError) {
        Counter(label: "danmaku_comments_rejected_total", dimensions: [("reason", error.code)], factory: factory).increment()
    }
}
