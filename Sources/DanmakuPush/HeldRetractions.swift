// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// Retractions that wait for the batch on its way to a room's viewers: a viewer the batch
/// carrying the comment has not reached yet would get the retraction first, and then show the
/// comment. They go out once the batch has reached every viewer.
///
/// Owned by a `LoopRoom`, touched only on its shard's loop, never locked.
struct HeldRetractions {
    /// The `retract` frames held, in the order they came.
    private var frames: [ByteBuffer] = []

    /// Holds `frame`, the retraction of `seq`, when the batch on its way (its seqs `batch`) carries
    /// that seq; false when it may go out now.
    mutating func hold(_ frame: ByteBuffer, seq: UInt64, behind batch: (first: UInt64, last: UInt64)?) -> Bool {
        // Compared, not made a range: a range whose bounds were ever out of order would trap.
        guard let batch, batch.first <= seq, seq <= batch.last else { return false }
        frames.append(frame)
        return true
    }

    /// The frames held, forgotten here: the batch is out to every viewer.
    mutating func release() -> [ByteBuffer] {
        let released = frames
        frames.removeAll()
        return released
    }
}
