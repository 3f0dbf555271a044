// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import DanmakuIngest
import Prometheus
import ServiceLifecycle

/// Records the node's charted figures into its `StatsHistory` once a second, for as long as the
/// server runs, so that the dashboard opens on the last 15 minutes.
struct StatsRecorder: Service, CustomStringConvertible {
    var description: String { "dashboard history" }
    let history: StatsHistory
    let metrics: PrometheusCollectorRegistry

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                history.record(MetricsSample(text: String(decoding: metrics.emitToBuffer(), as: UTF8.self)), at: currentTimeMillis())
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
