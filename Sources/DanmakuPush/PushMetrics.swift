// Danmaku — a live-stream bullet-comment service.

import CoreMetrics

/// The push role's metrics. Updated once per flush, never per viewer.
public struct PushMetrics: Sendable {
    let factory: any MetricsFactory
    /// Connected viewers.
    let viewers: Meter
    /// Rooms with viewers, summed over loops.
    let rooms: Meter
    /// Comments written to viewers (one per comment per viewer).
    let deliveries: Counter
    /// WebSocket frames written for batches.
    let frames: Counter
    /// Bytes of those frames, as sent (compressed where the viewer asked for it).
    let bytes: Counter
    /// Comments per batch.
    let batchComments: Recorder
    /// Time to flush one loop's due rooms.
    let flushDuration: Timer
    /// Viewers closed with 1008 for not keeping up.
    let slowConsumerCloses: Counter
    /// Comments a display budget held back, summed over viewers.
    let shed: Counter
    /// Pings written to viewers on their own (counted once per sweep).
    let pings: Counter
    /// Pings written together with a batch, in its system call (counted once per sweep).
    let pingsCarried: Counter
    /// Comments sent as part of another (merged repeats), counted once per batch.
    let merged: Counter
    /// From a comment's acceptance (its `ts`) to its arrival at this push node, for the first
    /// comment of each bus message. Across hosts it includes their clock difference.
    let busLatency: Timer

    /// Buckets for `busLatency`: in process a few microseconds, across Redis a few milliseconds.
    public static let busLatencyLabel = "danmaku_bus_latency_seconds"
    public static let busLatencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
    ]

    /// How long a batch's first comment waited on its loop for the batch to start going out: the
    /// window in force, plus whatever the loop was busy with.
    let batchWait: Timer
    /// From a batch's first comment's arrival on its loop to the batch's write to the room's
    /// last viewer on the loop: the window, the wait and the fan-out.
    let batchDelay: Timer

    public static let batchWaitLabel = "danmaku_batch_wait_seconds"
    public static let batchDelayLabel = "danmaku_batch_delay_seconds"
    public static let batchDelayBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30),
    ]
    public static let batchWaitBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(20), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
    ]

    /// Buckets for `flushDuration`: a flush takes microseconds to tens of milliseconds.
    public static let flushDurationLabel = "danmaku_flush_duration_seconds"
    public static let flushDurationBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250),
    ]

    /// From a batch's start to its last viewer written, by the room's size on the loop
    /// (`fanOutDuration(viewers:)`): what a room of that size costs a loop per batch.
    let fanOutBySize: [Timer]

    /// Upper bounds of the size classes of `fanOutBySize` (viewers of the room on the loop).
    static let roomSizeClasses = [10, 100, 1000, 10000, Int.max]
    static func roomSizeLabel(_ upper: Int) -> String {
        switch upper {
        case 10: "1-10"
        case 100: "11-100"
        case 1000: "101-1000"
        case 10000: "1001-10000"
        default: "10001+"
        }
    }

    public static let fanOutDurationLabel = "danmaku_room_fanout_seconds"
    public static let fanOutDurationBuckets: [Duration] = [
        .microseconds(20), .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500),
    ]

    /// The fan-out timer for a room of `viewers` viewers on one loop.
    func fanOutDuration(viewers: Int) -> Timer {
        fanOutBySize[Self.roomSizeClasses.firstIndex { viewers <= $0 } ?? Self.roomSizeClasses.count - 1]
    }

    /// The histogram buckets `batchComments` should have (for factories that take buckets by label).
    public static let batchCommentsLabel = "danmaku_batch_comments"
    public static let batchCommentsBuckets: [Double] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]

    /// Metrics made by `factory` (no-op by default).
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        viewers = Meter(label: "danmaku_viewers", factory: factory)
        rooms = Meter(label: "danmaku_rooms", factory: factory)
        deliveries = Counter(label: "danmaku_deliveries_total", factory: factory)
        frames = Counter(label: "danmaku_frames_total", factory: factory)
        bytes = Counter(label: "danmaku_sent_bytes_total", factory: factory)
        batchComments = Recorder(label: Self.batchCommentsLabel, factory: factory)
        flushDuration = Timer(label: Self.flushDurationLabel, factory: factory)
        slowConsumerCloses = Counter(label: "danmaku_slow_consumer_closes_total", factory: factory)
        shed = Counter(label: "danmaku_shed_total", factory: factory)
        pings = Counter(label: "danmaku_pings_total", factory: factory)
        pingsCarried = Counter(label: "danmaku_pings_with_batches_total", factory: factory)
        merged = Counter(label: "danmaku_merged_total", factory: factory)
        busLatency = Timer(label: Self.busLatencyLabel, factory: factory)
        batchWait = Timer(label: Self.batchWaitLabel, factory: factory)
        batchDelay = Timer(label: Self.batchDelayLabel, factory: factory)
        fanOutBySize = Self.roomSizeClasses.map {
            Timer(label: Self.fanOutDurationLabel, dimensions: [("viewers", Self.roomSizeLabel($0))], factory: factory)
        }
    }

    /// The widest batch window in force on loop `index`, in seconds (Prometheus's base unit).
    func windowGauge(loop index: Int) -> Gauge {
        Gauge(label: "danmaku_batch_window_seconds", dimensions: [("loop", String(index))], factory: factory)
    }

    /// The longest delay of a room on loop `index` (its last batch: first comment's arrival to
    /// last viewer's write), in seconds.
    func delayGauge(loop index: Int) -> Gauge {
        Gauge(label: "danmaku_room_delay_seconds", dimensions: [("loop", String(index))], factory: factory)
    }

    /// Rooms on loop `index` that could not be served within the ceiling window (widened past it).
    func overloadedGauge(loop index: Int) -> Gauge {
        Gauge(label: "danmaku_overloaded_rooms", dimensions: [("loop", String(index))], factory: factory)
    }
}
