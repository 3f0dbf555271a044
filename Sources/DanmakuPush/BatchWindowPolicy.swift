// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// Chooses each room's batch window on one loop.
///
/// Fixed mode: every room uses the configured window. Adaptive mode (a sends-per-second budget):
/// the loop's budget is shared equally by the rooms that are receiving comments, and a room's
/// window is what keeps its viewers within its share,
/// `window = viewers × active rooms / budget`, rounded up to a multiple of the floor and kept
/// between the floor and the ceiling. A small room keeps the floor; a hot one widens, so the
/// frames a loop writes per second stay under the budget (unless the ceiling is reached: latency
/// is bounded before packets).
public struct BatchWindowPolicy: Sendable, Equatable {
    /// The shortest window (the configured `--batch-window-ms`); zero is the naive mode.
    public var floor: TimeAmount
    /// The longest window the adaptive mode may choose.
    public var ceiling: TimeAmount
    /// Frames this loop may write per second, or nil for a fixed window.
    public var sendsPerSecond: Double?

    public init(floor: TimeAmount, ceiling: TimeAmount, sendsPerSecond: Double?) {
        self.floor = floor
        self.ceiling = max(floor, ceiling)
        self.sendsPerSecond = sendsPerSecond
    }

    /// The window for a room with `viewers` viewers on this loop, `activeRooms` rooms receiving.
    public func window(viewers: Int, activeRooms: Int) -> TimeAmount {
        guard let budget = sendsPerSecond, budget > 0, floor > .zero else { return floor }
        let seconds = Double(max(1, viewers)) * Double(max(1, activeRooms)) / budget
        let wanted = Int64((seconds * 1e9).rounded(.up))
        let steps = (wanted + floor.nanoseconds - 1) / floor.nanoseconds
        return min(ceiling, max(floor, .nanoseconds(steps * floor.nanoseconds)))
    }
}
