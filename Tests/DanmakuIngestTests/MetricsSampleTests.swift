import DanmakuIngest
import Testing

/// Reading the Prometheus text exposition, as `danmaku status` and the dashboard do.
@Suite struct MetricsSampleTests {
    private let earlier = MetricsSample(text: """
        # HELP danmaku_comments_accepted_total comments accepted
        # TYPE danmaku_comments_accepted_total counter
        danmaku_comments_accepted_total 10
        danmaku_batch_window_seconds{loop="0"} 0.01
        danmaku_batch_window_seconds{loop="1"} 0.02
        danmaku_post_duration_seconds_bucket{le="0.001"} 5
        danmaku_post_duration_seconds_bucket{le="0.01"} 10
        danmaku_post_duration_seconds_bucket{le="+Inf"} 10
        """)

    @Test func seriesKeepTheirLabelsAndTotalsSumThem() {
        #expect(earlier.series["danmaku_batch_window_seconds{loop=\"1\"}"] == 0.02)
        #expect(earlier.series["danmaku_comments_accepted_total"] == 10)
        #expect(earlier["danmaku_batch_window_seconds"] == 0.03)
        #expect(!earlier.series.keys.contains { $0.contains("_bucket") }, "buckets are not series of their own")
    }

    @Test func aQuantileIsReadFromWhatHappenedBetweenTwoSamples() {
        let later = MetricsSample(text: """
            danmaku_post_duration_seconds_bucket{le="0.001"} 6
            danmaku_post_duration_seconds_bucket{le="0.01"} 20
            danmaku_post_duration_seconds_bucket{le="+Inf"} 20
            """)
        // 10 posts in between, 1 under a millisecond: the median is in the 10 ms bucket.
        #expect(later.quantile(0.5, of: "danmaku_post_duration_seconds", since: earlier) == 0.01)
        #expect(later.quantile(0.1, of: "danmaku_post_duration_seconds", since: earlier) == 0.001)
        #expect(earlier.quantile(0.5, of: "danmaku_post_duration_seconds", since: earlier) == nil, "nothing happened")
    }

    @Test func linesThatAreNotSamplesAreSkipped() {
        let sample = MetricsSample(text: "garbage\nname_without_value \nok 1\nbad{x=\"y\"} NaNish\n")
        #expect(sample.series == ["ok": 1])
    }
}
