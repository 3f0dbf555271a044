// Danmaku — a live-stream bullet-comment service.

import Histogram

/// Counters and a latency histogram owned by one client EventLoop (no locks); merged for reports.
public final class LoopStats {
    /// Comments received (deliveries).
    public var deliveries: UInt64 = 0
    /// `comments` frames received.
    public var frames: UInt64 = 0
    /// WebSocket payload bytes received.
    public var bytes: UInt64 = 0
    /// Seqs a viewer never got (gaps, plus `gap` messages).
    public var missing: UInt64 = 0
    /// Seqs a viewer got twice or after a later one.
    public var duplicated: UInt64 = 0
    /// End-to-end latency in microseconds: post sent → comment received.
    public var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)

    public init() {}

    /// Adds `other` into this one.
    public func add(_ other: Snapshot) {
        deliveries += other.deliveries
        frames += other.frames
        bytes += other.bytes
        missing += other.missing
        duplicated += other.duplicated
        latency.add(other.latency)
    }

    /// A copy that can leave the loop.
    public struct Snapshot: Sendable {
        public var deliveries: UInt64 = 0
        public var frames: UInt64 = 0
        public var bytes: UInt64 = 0
        public var missing: UInt64 = 0
        public var duplicated: UInt64 = 0
        public var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)

        public init() {}

        public mutating func add(_ other: Snapshot) {
            deliveries += other.deliveries
            frames += other.frames
            bytes += other.bytes
            missing += other.missing
            duplicated += other.duplicated
            latency.add(other.latency)
        }
    }

    /// Copies the counters out, optionally starting afresh (after the warm-up).
    public func snapshot(reset: Bool) -> Snapshot {
        var copy = Snapshot()
        copy.deliveries = deliveries
        copy.frames = frames
        copy.bytes = bytes
        copy.missing = missing
        copy.duplicated = duplicated
        copy.latency = latency
        if reset {
            deliveries = 0
            frames = 0
            bytes = 0
            latency.reset()
        }
        return copy
    }
}
