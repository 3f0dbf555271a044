import DanmakuBus
import DanmakuCore
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

/// Rooms held in memory are bounded: idle unwatched rooms are forgotten, the least recently
/// posted-to go first past the cap, and a returning room starts a new epoch.
@Suite struct RoomRetentionTests {
    final class Watcher: BusSubscriber {
        func deliver(_ comments: [EncodedComment], room: RoomID) {}
        func retract(seq: UInt64, id: String, room: RoomID, seqReused: Bool, reason: RetractReason?) {}
        func liked(_ likes: [LikeCount], room: RoomID) {}
        func renumbered(_ comments: [EncodedComment], room: RoomID) {}
    }

    /// Test time, ms since the Unix epoch.
    final class TestClock: Sendable {
        let now = Mutex<Int64>(1_000_000)
    }

    let time = TestClock()
    let loop = EmbeddedEventLoop()

    func bus(idleSeconds: Int64? = 3600, maxRooms: Int? = nil) -> MemoryBus {
        let time = self.time
        return MemoryBus(
            historyCapacity: 10, retention: RoomRetention(idleMilliseconds: idleSeconds.map { $0 * 1000 }, maxRooms: maxRooms),
            clock: { time.now.withLock { $0 } })
    }

    func advance(seconds: Int64) { time.now.withLock { $0 += seconds * 1000 } }

    func post(_ bus: MemoryBus, _ room: String) async throws -> EncodedComment {
        let id = RoomID(room)!
        let body = Comment(seq: 0, id: "x", room: room, user: CommentAuthor(id: "u", name: "U"), text: "t", color: "#ffffff", mode: .scroll, ts: 0)
            .unnumberedJSON()
        return try await bus.append(room: id, unnumbered: body)
    }

    func snapshot(_ bus: MemoryBus, _ room: String) throws -> HistorySnapshot {
        try bus.snapshot(room: RoomID(room)!, since: 0, limit: 100, on: loop).wait()
    }

    @Test func anIdleRoomComesBackInANewEpoch() async throws {
        let bus = bus()
        _ = try await post(bus, "quiet")
        _ = try await post(bus, "quiet")
        let before = try snapshot(bus, "quiet")
        #expect(before.lastSeq == 2 && before.epoch == 1_000_000)
        advance(seconds: 3599)
        #expect(try await post(bus, "quiet").seq == 3, "not idle yet")
        advance(seconds: 3600)
        #expect(try await post(bus, "quiet").seq == 1, "forgotten: numbering starts over")
        let after = try snapshot(bus, "quiet")
        #expect(after.epoch > before.epoch && after.comments.map(\.seq) == [1])
    }

    @Test func aWatchedRoomIsKeptHoweverQuiet() async throws {
        let bus = bus()
        _ = try await post(bus, "watched")
        let watcher = Watcher()
        _ = bus.subscribe(RoomID("watched")!, subscriber: watcher, on: loop)
        advance(seconds: 100_000)
        #expect(try await post(bus, "watched").seq == 2)
        bus.unsubscribe(RoomID("watched")!, subscriber: watcher)
    }

    @Test func pastTheCapTheLeastRecentlyPostedToUnwatchedRoomsGo() async throws {
        let bus = bus(idleSeconds: nil, maxRooms: 10)
        let watcher = Watcher()
        _ = bus.subscribe(RoomID("r0")!, subscriber: watcher, on: loop)
        for index in 0..<10 {
            _ = try await post(bus, "r\(index)")
            advance(seconds: 1)
        }
        #expect(bus.roomCount == 10)
        _ = try await post(bus, "r10")  // over the cap: down to nine tenths, oldest unwatched first
        #expect(bus.roomCount <= 10)
        #expect(try snapshot(bus, "r0").lastSeq == 1, "watched: kept")
        #expect(try snapshot(bus, "r1").lastSeq == 0, "the oldest unwatched: forgotten")
        #expect(try snapshot(bus, "r9").lastSeq == 1, "recent: kept")
        // A million fresh rooms later the bus still holds at most the cap (plus watched rooms).
        for index in 0..<2000 { _ = try await post(bus, "flood\(index)") }
        #expect(bus.roomCount <= 10)
        bus.unsubscribe(RoomID("r0")!, subscriber: watcher)
    }
}
