// Danmaku — a live-stream bullet-comment service.

/// What one flush wrote, for metrics.
struct Flushed {
    var frames = 0
    /// Comments written, summed over viewers.
    var deliveries = 0
    /// Comments held back by the display budget, summed over viewers.
    var shed = 0
    /// Bytes of the frames written (as sent: compressed where the viewer asked for it).
    var bytes = 0
    /// Comments merged into another of their batch (once per batch, not per viewer).
    var merged = 0

    mutating func add(_ other: Flushed) {
        bytes += other.bytes
        frames += other.frames
        deliveries += other.deliveries
        shed += other.shed
        merged += other.merged
    }
}
