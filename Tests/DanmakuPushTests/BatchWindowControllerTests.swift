import DanmakuPush
import NIOCore
import Testing

@Suite struct BatchWindowControllerTests {
    typealias Load = BatchWindowController.RoomLoad

    /// A controller whose loop has measured `cost` nanoseconds per frame.
    func measured(_ cost: Double, busy: Double = 0.5) -> BatchWindowController {
        var controller = BatchWindowController(floor: .milliseconds(10), ceiling: .milliseconds(250), targetBusy: busy)
        for _ in 0..<40 {
            controller.record(nanoseconds: Int64(cost * 1000), frames: 1000)
            controller.update(period: .milliseconds(100))
        }
        return controller
    }

    @Test func smallAndQuietRoomsKeepTheFloor() {
        let controller = measured(8_000)  // 62,500 frames/s at half the loop
        #expect(controller.windows(for: [Load(viewers: 100, commentsPerSecond: 1000)]) == [.milliseconds(10)])
        // One comment per frame: 10,000 viewers × 5/s is 50,000 frames/s, within the budget.
        #expect(controller.windows(for: [Load(viewers: 10_000, commentsPerSecond: 5)]) == [.milliseconds(10)])
        // Over it (19,000 viewers × 7/s), but too quiet to put three comments in a 250 ms frame:
        // widening would only add latency.
        #expect(controller.windows(for: [Load(viewers: 19_000, commentsPerSecond: 7)]) == [.milliseconds(10)])
        // No comments, no frames: a big room that is silent keeps the floor too.
        #expect(controller.windows(for: [Load(viewers: 19_000, commentsPerSecond: 0)]) == [.milliseconds(10)])
    }

    @Test func costRisingWidensWindowsAndFallingNarrowsThemBack() {
        let hot = [Load(viewers: 10_000, commentsPerSecond: 1000)]
        var controller = measured(5_000)  // 100,000 frames/s: 10 flushes/s for 10,000 viewers
        #expect(controller.windows(for: hot) == [.milliseconds(100)])
        var previous = controller.windows(for: hot)[0]
        for _ in 0..<10 {
            controller.record(nanoseconds: 10_000 * 1000, frames: 1000)
            controller.update(period: .milliseconds(100))
            let window = controller.windows(for: hot)[0]
            #expect(window >= previous)
            previous = window
        }
        #expect(previous == .milliseconds(200), "at 10 µs a frame, 50,000 frames/s: 5 flushes/s")
        for _ in 0..<40 {
            controller.record(nanoseconds: 5_000 * 1000, frames: 1000)
            controller.update(period: .milliseconds(100))
        }
        #expect(controller.windows(for: hot) == [.milliseconds(100)])
    }

    @Test func aWindowStopsWideningOnceItsFrameIsLargeEnough() {
        let controller = measured(10_000)  // 50,000 frames/s: 10,000 viewers would get 200 ms
        let hot = Load(viewers: 10_000, commentsPerSecond: 1000, bytesPerSecond: 1000 * 200)
        // 200 KB of comments a second fill the largest frame worth sending in 164 ms.
        #expect(controller.windows(for: [hot]) == [.milliseconds(170)])
        let small = Load(viewers: 10_000, commentsPerSecond: 1000, bytesPerSecond: 1000 * 20)
        #expect(controller.windows(for: [small]) == [.milliseconds(200)], "small comments: the budget decides")
    }

    @Test func theFirstMeasurementNeedsEnoughFrames() {
        var controller = BatchWindowController(floor: .milliseconds(10), ceiling: .milliseconds(250))
        controller.record(nanoseconds: 1_000_000, frames: 1)
        controller.update(period: .milliseconds(100))
        #expect(controller.frameCostNanoseconds == BatchWindowController.assumedFrameCostNanoseconds)
    }

    @Test func otherWorkOnTheLoopLeavesFanOutLessTime() {
        // Half of every 100 ms asleep, 10 ms of it fan-out: 40 % of the loop goes to posts and
        // joins, leaving fan-out 20 % of a 60 % target.
        var controller = BatchWindowController(floor: .milliseconds(10), ceiling: .milliseconds(250), targetBusy: 0.6)
        for _ in 0..<40 {
            controller.record(nanoseconds: 10_000_000, frames: 2_000)  // 5 µs a frame
            controller.update(period: .milliseconds(100), loopSlept: .milliseconds(50))
        }
        #expect(abs(controller.fanOutShare - 0.2) < 0.001)
        #expect(abs(controller.sendsPerSecond - 40_000) < 10)
        // A loop with nothing else to do gives fan-out the whole target.
        for _ in 0..<40 {
            controller.record(nanoseconds: 10_000_000, frames: 2_000)
            controller.update(period: .milliseconds(100), loopSlept: .milliseconds(90))
        }
        #expect(abs(controller.fanOutShare - 0.6) < 0.001)
        // However busy the loop, fan-out keeps its minimum: comments still get out.
        for _ in 0..<40 { controller.update(period: .milliseconds(100), loopSlept: .zero) }
        #expect(controller.fanOutShare == BatchWindowController.minimumShare)
    }

    @Test func theBudgetIsSharedMaxMinFairly() {
        let controller = measured(10_000)  // 50,000 frames/s
        let windows = controller.windows(for: [
            Load(viewers: 100, commentsPerSecond: 20),  // 2,000 frames/s: less than a share
            Load(viewers: 8_000, commentsPerSecond: 500),
            Load(viewers: 2_000, commentsPerSecond: 500),
        ])
        // The small room keeps the floor; the two hot rooms split the other 48,000 frames/s.
        #expect(windows[0] == .milliseconds(10))
        #expect(windows[2] == .milliseconds(90), "2,000 viewers at 24,000 frames/s: 83 ms, rounded up to the floor's multiple")
        #expect(windows[1] == .milliseconds(250), "8,000 viewers would need 333 ms: the ceiling bounds latency")
    }

    @Test func anExplicitBudgetOverridesTheMeasurement() {
        var controller = BatchWindowController(
            floor: .milliseconds(10), ceiling: .milliseconds(250), fixedSendsPerSecond: 100_000)
        controller.record(nanoseconds: 1_000_000_000, frames: 1000)
        controller.update(period: .milliseconds(100))
        #expect(controller.sendsPerSecond == 100_000)
        #expect(controller.windows(for: [Load(viewers: 10_000, commentsPerSecond: 1000)]) == [.milliseconds(100)])
        #expect(controller.windows(for: [Load(viewers: 2_345, commentsPerSecond: 1000)]) == [.milliseconds(30)])
    }

    @Test func naiveModeStaysNaive() {
        let naive = BatchWindowController(floor: .zero, ceiling: .milliseconds(250), fixedSendsPerSecond: 1000)
        #expect(!naive.isBatching)
        #expect(naive.windows(for: [Load(viewers: 10_000, commentsPerSecond: 1000)]) == [.zero])
    }
}
