// Danmaku — a live-stream bullet-comment service.

import CoreMetrics
import NIOCore

/// Chooses the batch windows of one loop's rooms anew every `interval`, from the loop's
/// measured cost per frame and each room's recent comment rate (`BatchWindowController`), and
/// reports the widest window, the overloaded rooms and the longest delay on the loop's gauges.
///
/// Owned by a `PushShard`, touched only on that shard's loop, never locked.
final class WindowTuner {
    /// How often windows are chosen anew: a room that turns hot is at its floor at most this long.
    static let interval = TimeAmount.milliseconds(100)
    /// Chooses each room's window from what this loop's frames cost.
    private var controller: BatchWindowController
    /// The loop's total sleep when windows were last tuned (see `LoopSleepMeter`).
    private var sleptAtLastTuning: Int64?
    private let windowGauge: Gauge
    /// Rooms on this loop that could not be served within the ceiling window.
    private let overloadedGauge: Gauge
    /// The longest `recentDelay` of a room on this loop.
    private let delayGauge: Gauge

    init(controller: BatchWindowController, metrics: PushMetrics, loop index: Int) {
        self.controller = controller
        self.windowGauge = metrics.windowGauge(loop: index)
        self.overloadedGauge = metrics.overloadedGauge(loop: index)
        self.delayGauge = metrics.delayGauge(loop: index)
    }

    /// Whether comments are batched at all (a floor of zero is the naive mode).
    var isBatching: Bool { controller.isBatching }

    /// The shortest window, a new room's.
    var floor: TimeAmount { controller.floor }

    /// A slice of fan-out wrote `frames` frames in `nanoseconds`.
    func record(nanoseconds: Int64, frames: Int) {
        controller.record(nanoseconds: nanoseconds, frames: frames)
    }

    /// The naive mode's window (none), on the gauge.
    func recordNaive() {
        windowGauge.record(0)
    }

    /// Chooses every room's window anew from the loop's measured cost per frame and each room's
    /// recent comment rate. `sleptTotal`: the loop's total sleep so far, when it is measured.
    func tune(_ rooms: some Collection<LoopRoom>, sleptTotal: Int64?) {
        var slept: TimeAmount?
        if let total = sleptTotal {
            if let previous = sleptAtLastTuning { slept = .nanoseconds(total - previous) }
            sleptAtLastTuning = total
        }
        controller.update(period: Self.interval, loopSlept: slept)
        let seconds = Double(Self.interval.nanoseconds) / 1e9
        var tuned: [LoopRoom] = []
        var loads: [BatchWindowController.RoomLoad] = []
        for room in rooms {
            // Smoothed over most of a second: a few comments arriving together do not make a
            // quiet room look busy, and a room that turns hot is seen within a second (its slices
            // keep the loop answering meanwhile).
            func smoothed(_ previous: Double, _ count: Int) -> Double {
                previous + (Double(count) / seconds - previous) * 0.15
            }
            room.commentsPerSecond = smoothed(room.commentsPerSecond, room.receivedSinceTuning)
            room.bytesPerSecond = smoothed(room.bytesPerSecond, room.receivedBytesSinceTuning)
            room.receivedSinceTuning = 0
            room.receivedBytesSinceTuning = 0
            tuned.append(room)
            loads.append(.init(viewers: room.viewers.count, commentsPerSecond: room.commentsPerSecond, bytesPerSecond: room.bytesPerSecond))
        }
        var widest = controller.floor
        var overloaded = 0
        for (room, plan) in zip(tuned, controller.plan(for: loads)) {
            room.window = plan.window
            widest = max(widest, plan.window)
            if plan.overloaded { overloaded += 1 }
        }
        windowGauge.record(Double(widest.nanoseconds) / 1_000_000_000)
        overloadedGauge.record(overloaded)
        let longestDelay = tuned.lazy.map(\.recentDelay).max() ?? .zero
        delayGauge.record(Double(longestDelay.nanoseconds) / 1_000_000_000)
    }
}
