// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuRedis

/// Likes in Redis, shared by every logic node: one set of likers per comment, in the room's slot
/// (`danmaku:{room}:likes:ID`), expiring with the room's keys (a day when rooms never expire:
/// by then the comment has long scrolled past).
public final class RedisLikes: LikeStore {
    private let bus: RedisBus

    public init(bus: RedisBus) {
        self.bus = bus
    }

    public func like(room: RoomID, id: String, user: String) async throws -> (count: Int, added: Bool) {
        let lifetime = bus.roomIdleMilliseconds ?? 86_400_000
        let reply = try await bus.scripts.run(
            RedisScripts.like, keys: ["danmaku:{\(room.value)}:likes:\(id)"],
            arguments: [RESPArgument(user), RESPArgument(String(lifetime))], on: bus.redis
        ).get()
        guard let parts = reply.array, parts.count == 2, let count = parts[0].integer, let added = parts[1].integer else {
            throw RedisError.unexpectedReply("like: \(reply)")
        }
        return (Int(clamping: count), added == 1)
    }
}

extension RedisScripts {
    /// Adds liker ARGV[1] to set KEYS[1] and renews its lifetime (ARGV[2] ms). Returns
    /// {likers, 1 if the liker is new}.
    static let like = """
        local added = redis.call('SADD', KEYS[1], ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return {redis.call('SCARD', KEYS[1]), added}
        """
}
