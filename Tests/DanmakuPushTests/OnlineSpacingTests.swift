import DanmakuPush
import DanmakuTestSupport
import NIOCore
import NIOEmbedded
import Testing

/// A room's `online` frames cost its loop at most 100 writes a second: a room with many
/// viewers is told its changed count less often than every presence tick, a small one at once.
@Suite struct OnlineSpacingTests {
    /// The `online` counts `channel` was sent, in order.
    private func onlineCounts(_ channel: EmbeddedChannel, _ harness: ViewerHarness) throws -> [Int] {
        try harness.frames(channel).map(json).filter { $0["type"] as? String == "online" }.compactMap { $0["count"] as? Int }
    }

    @Test func aRoomsCountsAreSpacedByItsViewers() throws {
        let harness = ViewerHarness()
        let viewers = try (0..<50).map { _ in try harness.connect() }
        harness.loop.run()
        for viewer in viewers { _ = try harness.frames(viewer) }   // hellos
        // 50 viewers: counts at least 500 ms apart.
        harness.hub.announceOnline()
        harness.loop.run()
        #expect(try onlineCounts(viewers[0], harness) == [50])
        let newcomer = try harness.connect()
        harness.loop.run()
        _ = try harness.frames(newcomer)
        harness.loop.advanceTime(by: .milliseconds(300))
        harness.hub.announceOnline()
        harness.loop.run()
        #expect(try onlineCounts(viewers[0], harness).isEmpty, "300 ms after the last: not yet")
        harness.loop.advanceTime(by: .milliseconds(300))
        harness.hub.announceOnline()
        harness.loop.run()
        #expect(try onlineCounts(viewers[0], harness) == [51], "the change is sent once the spacing has passed")
        #expect(try onlineCounts(newcomer, harness) == [51])
        // An unchanged count is never sent again.
        harness.loop.advanceTime(by: .seconds(5))
        harness.hub.announceOnline()
        harness.loop.run()
        #expect(try onlineCounts(viewers[0], harness).isEmpty)
    }

    @Test func aSmallRoomIsToldEveryChangeOnTheNextTick() throws {
        let harness = ViewerHarness()
        let first = try harness.connect()
        harness.loop.run()
        _ = try harness.frames(first)
        var told: [Int] = []
        for expected in 2...5 {
            let another = try harness.connect()
            harness.loop.run()
            _ = try harness.frames(another)
            harness.loop.advanceTime(by: .seconds(2))              // a presence tick
            harness.hub.announceOnline()
            harness.loop.run()
            told += try onlineCounts(first, harness)
            #expect(told.last == expected)
        }
        #expect(told == [2, 3, 4, 5])
    }
}
