import DanmakuBus
import DanmakuRedisBus
import DanmakuCore
import DanmakuTestSupport
import NIOPosix
import Testing

/// A room's keys in Redis live for --room-idle-seconds after its last post; a room that comes back
/// after they expired starts a new epoch at seq 1.
@Suite struct RoomExpiryTests {
    let room = RoomID("fleeting")!

    @Test func aRoomsKeysExpireAndItsReturnIsANewEpoch() async throws {
        try await RedisServer.with { server in
            try await RedisBusTests().withBus(server, roomIdleMilliseconds: 3_600_000) { bus in
                let loop = MultiThreadedEventLoopGroup.singleton.next()
                let tests = RedisBusTests()
                _ = try await bus.append(room: room, unnumbered: try tests.unnumbered("one"))
                _ = try await bus.append(room: room, unnumbered: try tests.unnumbered("two"))
                let first = try await bus.snapshot(room: room, since: 0, limit: 10, on: loop).get()
                #expect(first.lastSeq == 2 && first.epoch > 0)
                for key in ["seq", "log", "epoch"] {
                    // The raw RESP reply: ":MILLISECONDS\r\n".
                    let reply = try await server.command(["PTTL", "danmaku:{fleeting}:\(key)"])
                    let ttl = Int(reply.dropFirst().trimmingCharacters(in: .whitespacesAndNewlines)) ?? -2
                    #expect((3_000_000...3_600_000).contains(ttl), "\(key) expires with the room: \(ttl)")
                }
                // As if the keys had expired: the next post starts over, in another epoch.
                _ = try await server.command(["DEL", "danmaku:{fleeting}:seq", "danmaku:{fleeting}:log", "danmaku:{fleeting}:epoch"])
                let again = try await bus.append(room: room, unnumbered: try tests.unnumbered("again"))
                #expect(again.seq == 1)
                let second = try await bus.snapshot(room: room, since: 0, limit: 10, on: loop).get()
                #expect(second.lastSeq == 1 && second.epoch > 0 && second.epoch != first.epoch)
                // A room never posted to has no epoch yet.
                #expect(try await bus.snapshot(room: RoomID("never")!, since: nil, limit: 0, on: loop).get().epoch == 0)
            }
        }
    }
}
