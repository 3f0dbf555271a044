// Danmaku — a live-stream bullet-comment service.

import DanmakuCore

extension LoopRoom {
    /// Keeps the latest count of each comment until the room's likes go out; true when none were
    /// waiting (the caller schedules `sendLikes` one window ahead).
    ///
    /// A hot room's likes then cost one frame per window, however many arrive.
    func collectLikes(_ likes: [LikeCount]) -> Bool {
        let wasEmpty = pendingLikes.isEmpty
        for like in likes where like.count > (pendingLikes[like.id]?.count ?? 0) {
            pendingLikes[like.id] = like
        }
        return wasEmpty && !pendingLikes.isEmpty
    }

    /// Sends the collected counts to every viewer of the room, in one shared frame.
    func sendLikes() {
        guard !pendingLikes.isEmpty else { return }
        let frame = ViewerMessage.frame(ViewerMessage.Likes(room: id.value, likes: pendingLikes.values.sorted { $0.seq < $1.seq }))
        pendingLikes.removeAll(keepingCapacity: true)
        for subscription in viewers { subscription.viewer.send(frame) }
        for subscription in joining { subscription.viewer.send(frame) }
    }
}
