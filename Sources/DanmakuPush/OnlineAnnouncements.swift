// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// When a room's viewers on one loop are told its online count: only a count that differs from
/// the last one sent, and no sooner after it than the room's size allows (`spacingPerViewer`).
///
/// Owned by a `LoopRoom`, touched only on its shard's loop, never locked.
struct OnlineAnnouncements {
    /// How far apart a room's `online` frames are kept, per viewer on the loop: a loop spends at
    /// most 100 writes a second on a room's counts. A crowd joining changes the count on every
    /// presence tick, and a frame to each of 19,000 viewers every 2 s is a tenth of what a core
    /// writes; such a room is told its count every 190 s instead, and one of up to 200 viewers
    /// on every tick.
    static let spacingPerViewer = TimeAmount.milliseconds(10)

    /// The online count last sent to this room's viewers (in `hello` or `online`).
    private var announced: Int?
    /// When the last `online` frame went out (nil: none yet).
    private var lastAnnouncement: NIODeadline?

    /// Whether `count` goes out now to a room of `viewers` live viewers (a later tick sends it
    /// otherwise); when it does, it counts as sent.
    mutating func announces(_ count: Int, viewers: Int, now: NIODeadline) -> Bool {
        guard count != announced, viewers > 0 else { return false }
        if let last = lastAnnouncement {
            // Spaced by the viewers there are now (a room that emptied waits no longer), at most
            // an hour apart: no arithmetic here can overflow.
            let longest = TimeAmount.hours(1).nanoseconds
            let spacing = Self.spacingPerViewer.nanoseconds.multipliedReportingOverflow(by: Int64(clamping: viewers))
            guard now >= last + .nanoseconds(spacing.overflow ? longest : min(spacing.partialValue, longest)) else { return false }
        }
        announced = count
        lastAnnouncement = now
        return true
    }
}
