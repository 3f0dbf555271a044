import DanmakuPush
import NIOCore
import Testing

@Suite struct BatchWindowPolicyTests {
    let adaptive = BatchWindowPolicy(floor: .milliseconds(10), ceiling: .milliseconds(250), sendsPerSecond: 100_000)

    @Test func fixedModeIgnoresViewers() {
        let fixed = BatchWindowPolicy(floor: .milliseconds(10), ceiling: .milliseconds(250), sendsPerSecond: nil)
        #expect(fixed.window(viewers: 1_000_000, activeRooms: 5) == .milliseconds(10))
    }

    @Test func smallRoomsKeepTheFloor() {
        #expect(adaptive.window(viewers: 100, activeRooms: 1) == .milliseconds(10))
    }

    @Test func windowWidensWithViewersAndStaysUnderTheBudget() {
        // 10,000 viewers at 100k frames/s: 100 ms.
        #expect(adaptive.window(viewers: 10_000, activeRooms: 1) == .milliseconds(100))
        // 2,345 viewers: 23.45 ms, rounded up to a multiple of the floor.
        #expect(adaptive.window(viewers: 2_345, activeRooms: 1) == .milliseconds(30))
        // Sharing the budget with 3 other busy rooms quadruples it.
        #expect(adaptive.window(viewers: 2_000, activeRooms: 4) == .milliseconds(80))
        for viewers in [1, 50, 999, 5_000, 20_000] {
            for rooms in [1, 3, 10] {
                let window = adaptive.window(viewers: viewers, activeRooms: rooms)
                let sendsPerSecond = Double(viewers) * 1e9 / Double(window.nanoseconds) * Double(rooms)
                #expect(sendsPerSecond <= 100_000 || window == .milliseconds(250) || window == .milliseconds(10))
            }
        }
    }

    @Test func ceilingBoundsLatency() {
        #expect(adaptive.window(viewers: 1_000_000, activeRooms: 1) == .milliseconds(250))
    }

    @Test func naiveModeStaysNaive() {
        let naive = BatchWindowPolicy(floor: .zero, ceiling: .milliseconds(250), sendsPerSecond: 1000)
        #expect(naive.window(viewers: 10_000, activeRooms: 1) == .zero)
    }
}
