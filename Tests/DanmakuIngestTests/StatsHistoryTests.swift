import DanmakuIngest
import Testing

/// The dashboard's history: bounded, oldest first, the charted series only.
@Suite struct StatsHistoryTests {
    static let scrape = MetricsSample(text: """
        danmaku_comments_accepted_total 7
        danmaku_comments_rejected_total{reason="rate_limited"} 2
        danmaku_connections 40
        danmaku_bus_latency_seconds_bucket{le="0.01"} 3
        danmaku_bus_latency_seconds_sum 0.02
        danmaku_bus_latency_seconds_count 3
        """)

    @Test func keepsTheLastSamplesOfTheChartedSeriesOldestFirst() {
        let history = StatsHistory(capacity: 3)
        for second in 1...5 { history.record(Self.scrape, at: Int64(second) * 1000) }
        let kept = history.samples(after: 0)
        #expect(kept.map(\.at) == [3000, 4000, 5000], "the ring holds the newest three")
        #expect(history.samples(after: 4000).map(\.at) == [5000])
        #expect(history.samples(after: 5000).isEmpty)
        #expect(Set(kept[0].metrics.keys) == [
            "danmaku_comments_accepted_total", #"danmaku_comments_rejected_total{reason="rate_limited"}"#,
            "danmaku_bus_latency_seconds_sum", "danmaku_bus_latency_seconds_count",
        ])
    }
}
