// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuRedis

/// Likes in Redis, shared by every logic node: one set of likers per comment, in the room's slot
/// (`danmaku:{room}:likes:ID`), expiring with the room's keys (a day when rooms never expire:
/// by then the comment has long scrolled past).
///
/// At most `maxLikersPerComment` likers are remembered (`LikersBound`); past it, likes are counted
/// in `…:likes:ID:beyond` without remembering who.
public final class RedisLikes: LikeStore {
    private let bus: RedisBus
    private let maxLikersPerComment: Int

    public init(bus: RedisBus, maxLikersPerComment: Int = LikersBound.perComment) {
        self.bus = bus
        self.maxLikersPerComment = max(1, maxLikersPerComment)
    }

    public func like(room: RoomID, id: String, user: String) async throws -> (count: Int, added: Bool) {
        let lifetime = bus.roomIdleMilliseconds ?? 86_400_000
        let key = "danmaku:{\(room.value)}:likes:\(id)"
        let reply = try await bus.scripts.run(
            RedisScripts.like, keys: [key, key + ":beyond"],
            arguments: [RESPArgument(user), RESPArgument(String(lifetime)), RESPArgument(maxLikersPerComment)], on: bus.redis
        ).get()
        guard let parts = reply.array, parts.count == 2, let count = parts[0].integer, let added = parts[1].integer else {
            throw RedisError.unexpectedReply("like: \(reply)")
        }
        return (Int(clamping: count), added == 1)
    }
}

extension RedisScripts {
    /// Adds liker ARGV[1] to set KEYS[1], or past ARGV[3] likers counts the like in KEYS[2]
    /// without remembering who; renews their lifetime (ARGV[2] ms). Returns {likes, 1 if the like
    /// counted}.
    static let like = """
        local beyond = tonumber(redis.call('GET', KEYS[2]) or '0')
        local added = 0
        if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then
            if redis.call('SCARD', KEYS[1]) < tonumber(ARGV[3]) then
                redis.call('SADD', KEYS[1], ARGV[1])
            else
                beyond = redis.call('INCR', KEYS[2])
                redis.call('PEXPIRE', KEYS[2], ARGV[2])
            end
            added = 1
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return {redis.call('SCARD', KEYS[1]) + beyond, added}
        """
}
