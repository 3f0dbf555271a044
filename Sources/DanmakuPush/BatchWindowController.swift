// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore

/// Chooses each room's batch window on one loop, from what a frame costs on that loop.
///
/// The loop measures its fan-out: the time spent writing batches and the frames written, folded
/// into a smoothed cost per frame (kernel included), and, when the server reports it, how long
/// the loop slept. Fan-out may use what the loop's other work (posts, joins, heartbeats) leaves
/// of `targetBusy` of its time, never less than `minimumShare`; the loop's frame budget is that
/// share over the cost per frame: the frames per second it can write and still answer a post at
/// once. The budget is shared max-min fairly by the rooms:
/// a room that needs less than an equal share (few viewers or few comments) keeps the floor
/// window; the others split what is left equally, and each such room's window is what keeps its
/// viewers within its share, `window = viewers / share`. So a small room keeps the floor and a
/// hot one widens, by itself, on any machine.
///
/// With an explicit budget (`--max-sends-per-second`) the measured cost is not used. The window
/// never goes below the floor (`--batch-window-ms`), and goes above the ceiling
/// (`--max-batch-window-ms`: latency is bounded before packets) only in overload; a floor of
/// zero is the naive mode, one frame per comment, and is left alone.
///
/// **Overload.** A room whose viewers cannot each be written a frame per ceiling window within
/// its share (a million viewers on a few cores) is not left to fall behind, nor its viewers to be
/// closed as slow consumers: fan-out may then take up to `overloadBusy` of the loop, and the
/// room's window widens past the ceiling as far as that needs, up to `maxDelay`
/// (`--max-delay-ms`, 5 s). Past the maximum delay nothing is dropped: the room's next batch
/// waits until the previous one is out to every viewer (the fan-out goes a slice at a time), so
/// its frames carry more comments and its delay grows past the maximum, measured and reported
/// (`danmaku_room_delay_seconds`), until the load falls or nodes are added.
public struct BatchWindowController: Sendable {
    /// What one room asks of the loop.
    public struct RoomLoad: Sendable, Equatable {
        /// Live viewers of the room on this loop.
        public var viewers: Int
        /// Comments the room received per second, recently.
        public var commentsPerSecond: Double
        /// The bytes of those comments per second.
        public var bytesPerSecond: Double

        public init(viewers: Int, commentsPerSecond: Double, bytesPerSecond: Double = 0) {
            self.viewers = viewers
            self.commentsPerSecond = commentsPerSecond
            self.bytesPerSecond = bytesPerSecond
        }
    }

    /// The shortest window (`--batch-window-ms`); zero is the naive mode.
    public let floor: TimeAmount
    /// The longest window the controller chooses while the loop keeps up (`--max-batch-window-ms`).
    public let ceiling: TimeAmount
    /// The longest window an overloaded room may get (`--max-delay-ms`), never below the ceiling.
    public let maxDelay: TimeAmount
    /// An explicit frames-per-second budget for this loop (`--max-sends-per-second` divided by
    /// the loops), used instead of the measured one.
    public let fixedSendsPerSecond: Double?
    /// The share of its time the loop should be busy at most, fan-out included.
    public let targetBusy: Double
    /// The share fan-out keeps however busy the loop is with other work.
    public static let minimumShare = 0.1
    /// The share of its time the loop may be busy, fan-out included, when a room cannot be
    /// served within the ceiling: the headroom `targetBusy` keeps for answering at once is spent
    /// before a window widens past the ceiling.
    public static let overloadBusy = 0.9
    /// Smoothed nanoseconds per frame written on this loop.
    public private(set) var frameCostNanoseconds: Double
    /// Smoothed share of the loop's time taken by work other than fan-out (posts, joins, pings).
    public private(set) var otherWorkShare = 0.0

    private var recordedNanoseconds: Int64 = 0
    private var recordedFrames = 0

    /// Comments a widest-window frame must be expected to hold for a room's window to widen.
    static let fewestCommentsWorthWaitingFor = 3.0
    /// The largest batch frame worth waiting for: past it a frame's fixed cost is a small part of
    /// its cost, so a wider window would only add latency, and bursts of large frames to every
    /// viewer at once fill the kernel's socket memory.
    public static let maximumFrameBytes = 32 * 1024
    /// A cost per frame assumed until the loop has measured its own: a ~6 KB frame on a
    /// loopback socket of a modest core. The first measurement replaces most of it.
    public static let assumedFrameCostNanoseconds = 8_000.0
    /// Fewer frames than this since the last update say too little to move the estimate.
    static let minimumSample = 64
    /// How much of the estimate one update replaces.
    static let smoothing = 0.3

    public init(
        floor: TimeAmount, ceiling: TimeAmount, maxDelay: TimeAmount = .seconds(5), fixedSendsPerSecond: Double? = nil,
        targetBusy: Double = 0.6, assumedFrameCostNanoseconds: Double = Self.assumedFrameCostNanoseconds
    ) {
        self.floor = floor
        self.ceiling = max(floor, ceiling)
        self.maxDelay = max(self.ceiling, maxDelay)
        self.fixedSendsPerSecond = fixedSendsPerSecond
        self.targetBusy = min(1, max(Self.minimumShare, targetBusy))
        self.frameCostNanoseconds = assumedFrameCostNanoseconds
    }

    /// Whether windows are chosen at all (not the naive mode).
    public var isBatching: Bool { floor > .zero }

    /// Notes one stretch of fan-out: `nanoseconds` spent writing `frames` frames.
    public mutating func record(nanoseconds: Int64, frames: Int) {
        guard nanoseconds > 0, frames > 0 else { return }
        recordedNanoseconds += nanoseconds
        recordedFrames += frames
    }

    /// Folds what was recorded over the last `period` into the smoothed cost per frame and, when
    /// the loop's sleep over the period is known, into the share its other work takes.
    public mutating func update(period: TimeAmount, loopSlept: TimeAmount? = nil) {
        if let loopSlept, period > .zero {
            let busy = Double(max(0, period.nanoseconds - loopSlept.nanoseconds))
            let other = max(0, busy - Double(recordedNanoseconds)) / Double(period.nanoseconds)
            otherWorkShare += (min(1, other) - otherWorkShare) * Self.smoothing
        }
        defer {
            recordedNanoseconds = 0
            recordedFrames = 0
        }
        guard recordedFrames >= Self.minimumSample else { return }
        let sample = Double(recordedNanoseconds) / Double(recordedFrames)
        frameCostNanoseconds += (sample - frameCostNanoseconds) * Self.smoothing
    }

    /// The share of the loop's time fan-out may take now.
    public var fanOutShare: Double {
        max(Self.minimumShare, targetBusy - otherWorkShare)
    }

    /// Frames per second this loop may write.
    public var sendsPerSecond: Double {
        fixedSendsPerSecond ?? fanOutShare * 1e9 / max(1, frameCostNanoseconds)
    }

    /// How many times its share a room may take in overload: what fan-out may use at
    /// `overloadBusy` over what it may use at the target. One with an explicit budget, which is
    /// the operator's limit.
    public var overloadFactor: Double {
        guard fixedSendsPerSecond == nil else { return 1 }
        return max(1, max(Self.minimumShare, Self.overloadBusy - otherWorkShare) / fanOutShare)
    }

    /// What the controller chose for one room.
    public struct RoomWindow: Sendable, Equatable {
        /// The room's batch window.
        public var window: TimeAmount
        /// Whether the room is overloaded: it could not be served within the ceiling.
        public var overloaded: Bool

        public init(window: TimeAmount, overloaded: Bool = false) {
            self.window = window
            self.overloaded = overloaded
        }
    }

    /// The window for each room of `loads`, in the same order.
    public func windows(for loads: [RoomLoad]) -> [TimeAmount] {
        plan(for: loads).map(\.window)
    }

    /// The window for each room of `loads`, in the same order, and whether it is overloaded.
    public func plan(for loads: [RoomLoad]) -> [RoomWindow] {
        guard isBatching else { return loads.map { _ in RoomWindow(window: floor) } }
        let floorSeconds = Double(floor.nanoseconds) / 1e9
        // Frames per second each room would cost at the floor window.
        let demands = loads.map { Double($0.viewers) * min($0.commentsPerSecond, 1 / floorSeconds) }
        var plans = loads.map { _ in RoomWindow(window: floor) }
        var remaining = sendsPerSecond
        var unserved = loads.count
        let factor = overloadFactor
        let ceilingSeconds = Double(ceiling.nanoseconds) / 1e9
        for index in demands.indices.sorted(by: { demands[$0] < demands[$1] }) {
            let load = loads[index]
            let share = max(remaining / Double(unserved), 1)
            unserved -= 1
            // A room too quiet to put a few comments in one frame even at the widest window keeps
            // the floor while the loop can afford it: widening would add latency and save few
            // frames (the slices keep the loop answering meanwhile).
            let quiet = load.commentsPerSecond * ceilingSeconds < Self.fewestCommentsWorthWaitingFor
            if demands[index] <= share || (quiet && demands[index] <= share * factor) {
                remaining -= demands[index]
                continue
            }
            remaining -= share
            // The room's flushes per second are `share / viewers`: its window is the inverse, no
            // longer than it takes the room's comments to fill the largest frame worth sending.
            let needed = Double(load.viewers) / share
            if needed <= ceilingSeconds {
                var seconds = needed
                if load.bytesPerSecond > 0 {
                    seconds = min(seconds, Double(Self.maximumFrameBytes) / load.bytesPerSecond)
                }
                plans[index] = RoomWindow(window: window(seconds: seconds))
                continue
            }
            plans[index] = overloaded(load, share: share * factor)
        }
        return plans
    }

    /// The plan of a room that cannot be written a frame per viewer per ceiling window within
    /// its share: the ceiling, or past it the window that fits `share` frames a second, up to the
    /// maximum delay. (Never below the ceiling: a bigger room never gets a narrower window.)
    private func overloaded(_ load: RoomLoad, share: Double) -> RoomWindow {
        let wanted = Double(load.viewers) / share
        return RoomWindow(window: max(ceiling, window(seconds: wanted, upTo: maxDelay)), overloaded: true)
    }

    /// `seconds` rounded up to a multiple of the floor, between the floor and `limit` (the
    /// ceiling unless the room is overloaded).
    private func window(seconds: Double, upTo limit: TimeAmount? = nil) -> TimeAmount {
        // A microsecond of slack: an estimate a hair above a round figure does not add a step.
        // Saturating (an estimate that is NaN or huge cannot trap), and halved so `+` cannot overflow.
        let wanted = min(Int64(saturating: (seconds * 1e9 - 1_000).rounded(.up)), Int64.max / 2)
        let steps = (wanted + floor.nanoseconds - 1) / floor.nanoseconds
        return min(limit ?? ceiling, max(floor, .nanoseconds(steps * floor.nanoseconds)))
    }
}
