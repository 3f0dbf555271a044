// Danmaku — a live-stream bullet-comment service.

import DanmakuBus

/// How the push role sends a room, from its settings and the node's defaults.
struct RoomPolicy: Sendable, Equatable {
    /// Comments per second each viewer is sent (nil: every comment).
    var displayPerSecond: Int?
    /// Whether a batch sends repeated comments once (`RepeatMerger`).
    var mergesRepeats: Bool

    init(_ settings: RoomSettings, defaults: PushConfiguration) {
        displayPerSecond = settings.displayPerSecond ?? defaults.defaultDisplayPerSecond
        mergesRepeats = settings.mergeRepeats ?? defaults.mergeRepeats
    }
}
