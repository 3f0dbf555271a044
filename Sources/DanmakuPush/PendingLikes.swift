// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import NIOCore

/// A room's like counts waiting to go out on one loop: the latest count of each comment, sent
/// together one window after the first arrived, so that a hot room's likes cost one frame per
/// window however many arrive.
///
/// Owned by a `LoopRoom`, touched only on its shard's loop, never locked.
struct PendingLikes {
    /// The counts waiting, by comment id.
    private var counts: [String: LikeCount] = [:]

    /// Keeps the latest count of each comment; true when none were waiting (the caller schedules
    /// the send one window ahead).
    mutating func collect(_ likes: [LikeCount]) -> Bool {
        let wasEmpty = counts.isEmpty
        for like in likes where like.count > (counts[like.id]?.count ?? 0) {
            counts[like.id] = like
        }
        return wasEmpty && !counts.isEmpty
    }

    /// The `likes` frame of `room` (one, shared by every viewer) with the counts collected, which
    /// are then forgotten; nil when none waits.
    mutating func takeFrame(room: RoomID) -> ByteBuffer? {
        guard !counts.isEmpty else { return nil }
        let frame = ViewerMessage.frame(ViewerMessage.Likes(room: room.value, likes: counts.values.sorted { $0.seq < $1.seq }))
        counts.removeAll(keepingCapacity: true)
        return frame
    }
}
