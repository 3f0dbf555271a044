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
        // Over it (12,000 viewers × 7/s, 84,000 frames/s), but too quiet to put three comments in
        // a 250 ms frame, and within what the loop can write in overload: widening would only add
        // latency.
        #expect(controller.windows(for: [Load(viewers: 12_000, commentsPerSecond: 7)]) == [.milliseconds(10)])
        // 19,000 × 7/s is 133,000 frames/s, more than the loop can write at all: it widens.
        #expect(controller.windows(for: [Load(viewers: 19_000, commentsPerSecond: 7)]) == [.milliseconds(250)])
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

    @Test func anOverloadedRoomWidensPastTheCeilingUpToTheMaximumDelay() {
        // 8 µs a frame at 60 % of the loop: 75,000 frames/s, 112,500 at the overload's 90 %.
        let controller = measured(8_000, busy: 0.6)
        #expect(abs(controller.overloadFactor - 1.5) < 0.001)
        // 19,000 viewers × 10 comments/s would need 253 ms at the target: past the ceiling, so the
        // overload's budget decides (169 ms), and the window stays at the ceiling.
        let node = controller.plan(for: [Load(viewers: 19_000, commentsPerSecond: 10)])
        #expect(node == [.init(window: .milliseconds(250), overloaded: true)], "a quiet room the loop cannot afford at the floor widens")
        // 200,000 viewers: 1.78 s at the overload's budget, rounded up to the floor's multiple.
        let huge = controller.plan(for: [Load(viewers: 200_000, commentsPerSecond: 10)])
        #expect(huge == [.init(window: .milliseconds(1780), overloaded: true)])
        // 1,000,000 viewers would need 8.9 s: the window stops at the maximum delay.
        let million = controller.plan(for: [Load(viewers: 1_000_000, commentsPerSecond: 10)])
        #expect(million == [.init(window: .seconds(5), overloaded: true)])
        // However many comments: in overload the frame count decides, not the frame's size.
        let heavy = controller.plan(for: [Load(viewers: 200_000, commentsPerSecond: 100, bytesPerSecond: 100 * 200)])
        #expect(heavy == [.init(window: .milliseconds(1780), overloaded: true)])
    }

    @Test func aLoopThatKeepsUpStaysWithinTheCeiling() {
        let controller = measured(8_000, busy: 0.6)
        for viewers in [100, 5_000, 12_000] {
            for rate in [1.0, 10, 100, 1000] {
                let plan = controller.plan(for: [Load(viewers: viewers, commentsPerSecond: rate, bytesPerSecond: rate * 100)])
                #expect(!plan[0].overloaded, "\(viewers) viewers at \(rate)/s")
                #expect(plan[0].window <= .milliseconds(250))
            }
        }
    }

    @Test func overloadNeverLeavesARoomLessThanItsShare() {
        // A target above the overload's 90 %: the overload adds nothing, and takes nothing away.
        var controller = BatchWindowController(floor: .milliseconds(10), ceiling: .milliseconds(250), targetBusy: 0.95)
        for _ in 0..<40 {
            controller.record(nanoseconds: 8_000 * 1000, frames: 1000)
            controller.update(period: .milliseconds(100))
        }
        #expect(controller.overloadFactor == 1)
    }

    @Test func anExplicitBudgetIsNotExceededInOverload() {
        let controller = BatchWindowController(
            floor: .milliseconds(10), ceiling: .milliseconds(250), maxDelay: .seconds(5), fixedSendsPerSecond: 10_000)
        #expect(controller.overloadFactor == 1)
        // 50,000 viewers at 10,000 frames/s: one frame each per 5 s, exactly the maximum delay.
        #expect(controller.plan(for: [Load(viewers: 50_000, commentsPerSecond: 20)]) == [.init(window: .seconds(5), overloaded: true)])
    }

    @Test func naiveModeStaysNaive() {
        let naive = BatchWindowController(floor: .zero, ceiling: .milliseconds(250), fixedSendsPerSecond: 1000)
        #expect(!naive.isBatching)
        #expect(naive.windows(for: [Load(viewers: 10_000, commentsPerSecond: 1000)]) == [.zero])
    }
}
