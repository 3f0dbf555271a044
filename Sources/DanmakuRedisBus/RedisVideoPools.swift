// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuRedis
import Foundation
import NIOCore

/// Video pools in Redis, shared by every node of a cluster. A video's keys share the hash tag
/// `{video:ID}`, so on a Redis Cluster they live in one slot and each script touches them
/// together: the comments (a hash, id → JSON), their offsets (a sorted set), the pool's last
/// seq and size, each comment's likers (a set) and like counts (a hash), and each segment's
/// comments by `VideoComment.rank` (a sorted set, so a capped segment read takes only the top).
/// Pools do not expire: they are a video's, not a live room's.
public final class RedisVideoPools: VideoPoolStore {
    private let bus: RedisBus

    /// Comments per script call when publishing a whole stream: Redis runs one script at a
    /// time, so a long one would hold every other client up.
    static let chunk = 500
    /// Likers remembered per comment (`LikersBound`); past it, likes count without who.
    private let maxLikersPerComment: Int

    public init(bus: RedisBus, maxLikersPerComment: Int = LikersBound.perComment) {
        self.bus = bus
        self.maxLikersPerComment = max(1, maxLikersPerComment)
    }

    private struct Keys {
        let meta, comments, offsets, likeCounts: String
        let prefix: String

        init(_ video: VideoID) {
            prefix = "danmaku:{video:\(video.value)}"
            meta = "\(prefix):meta"
            comments = "\(prefix):comments"
            offsets = "\(prefix):offsets"
            likeCounts = "\(prefix):likecounts"
        }

        func likers(_ id: String) -> String { "\(prefix):likers:\(id)" }
        /// What a segment's rank set's key starts with (its number follows).
        var ranksPrefix: String { "\(prefix):ranks:" }
        func ranks(_ segment: Int64) -> String { "\(ranksPrefix)\(segment)" }
        func ranks(of comment: VideoComment) -> String { ranks(VideoSegment.number(of: comment.offsetMs)) }
    }

    public func add(_ comments: [VideoComment], video: VideoID, limit: Int, origin: VideoCommentOrigin) async throws -> [VideoComment] {
        let keys = Keys(video)
        var seen = Set<String>()
        let unique = comments.filter { seen.insert($0.id).inserted }
        var added: [VideoComment] = []
        var start = 0
        while start < unique.count {
            let slice = unique[start..<min(unique.count, start + Self.chunk)]
            start += Self.chunk
            let originCode = switch origin {
            case .post(startsPool: false): 0
            case .post(startsPool: true): 1
            case .published: 2
            }
            var arguments = [RESPArgument(limit), RESPArgument(originCode)]
            for comment in slice {
                var unnumbered = comment
                unnumbered.seq = 0
                unnumbered.likes = nil
                arguments += [
                    RESPArgument(comment.id), RESPArgument(comment.offsetMs), RESPArgument(bytes: try WireCodec.encode(unnumbered)),
                    RESPArgument(comment.isPrivileged ? 1 : 0),
                ]
            }
            let reply = try await bus.scripts.run(
                RedisScripts.addVideoComments, keys: [keys.meta, keys.comments, keys.offsets] + slice.map(keys.ranks(of:)),
                arguments: arguments, on: bus.redis
            ).get()
            if reply.integer == -1 { throw VideoPoolFull(limit: limit) }
            if reply.integer == -2 { throw VideoPoolMissing() }
            guard let seqs = reply.array, seqs.count == slice.count else { throw RedisError.unexpectedReply("add video comments: \(reply)") }
            for (comment, seq) in zip(slice, seqs) {
                guard let seq = seq.integer, seq > 0 else { continue }
                var numbered = comment
                numbered.seq = UInt64(clamping: seq)
                numbered.likes = nil
                added.append(numbered)
            }
        }
        return added
    }

    public func comments(video: VideoID, segment: Int64, limit: Int) async throws -> [VideoComment] {
        guard limit > 0 else { return [] }
        let keys = Keys(video)
        var reply = try await segmentRead(keys, segment: segment, limit: limit)
        if reply.integer == -1 {
            try await rankOldPool(keys)
            reply = try await segmentRead(keys, segment: segment, limit: limit)
        }
        guard let parts = reply.array, parts.count % 2 == 0 else { throw RedisError.unexpectedReply("video segment: \(reply)") }
        var comments: [VideoComment] = []
        for index in stride(from: 0, to: parts.count, by: 2) {
            if let comment = Self.comment(json: parts[index], likes: parts[index + 1]) { comments.append(comment) }
        }
        return comments.sorted { ($0.offsetMs, $0.seq) < ($1.offsetMs, $1.seq) }
    }

    private func segmentRead(_ keys: Keys, segment: Int64, limit: Int) async throws -> RESPValue {
        try await bus.scripts.run(
            RedisScripts.videoSegment, keys: [keys.comments, keys.likeCounts, keys.ranks(segment), keys.meta], arguments: [RESPArgument(limit)],
            on: bus.redis
        ).get()
    }

    /// Ranks a pool stored before segments had rank sets, a chunk per script call (a pool of
    /// 200,000 comments in one call held Redis for seconds).
    private func rankOldPool(_ keys: Keys) async throws {
        while true {
            let done = try await bus.scripts.run(
                RedisScripts.rankOldPool, keys: [keys.meta, keys.comments, keys.likeCounts],
                arguments: [RESPArgument(VideoSegment.milliseconds), RESPArgument(keys.ranksPrefix), RESPArgument(Self.rankingChunk)],
                on: bus.redis
            ).get()
            if done.integer == 1 { return }
        }
    }

    /// Comments ranked per script call when ranking an old pool.
    public static let rankingChunk = 1000

    /// Read in chunks of `chunk` by offset rank, one script call each, so a large pool does not hold
    /// Redis up. A comment removed between two calls may move another across the cut, so an export
    /// taken while the pool changes is as of no one moment (ids are deduplicated).
    public func allComments(video: VideoID, limit: Int) async throws -> [VideoComment] {
        let keys = Keys(video)
        var comments: [VideoComment] = []
        var seen = Set<String>()
        var start = 0
        while comments.count < limit {
            let count = min(Self.chunk, limit - comments.count)
            let reply = try await bus.scripts.run(
                RedisScripts.videoComments, keys: [keys.offsets, keys.comments, keys.likeCounts],
                arguments: [RESPArgument(start), RESPArgument(count)], on: bus.redis
            ).get()
            guard let parts = reply.array, let read = parts.first?.integer, parts.count % 2 == 1 else {
                throw RedisError.unexpectedReply("video comments: \(reply)")
            }
            for index in stride(from: 1, to: parts.count, by: 2) {
                if let comment = Self.comment(json: parts[index], likes: parts[index + 1]), seen.insert(comment.id).inserted {
                    comments.append(comment)
                }
            }
            if read < Int64(clamping: count) { break }
            start += count
        }
        return comments.sorted { ($0.offsetMs, $0.seq) < ($1.offsetMs, $1.seq) }
    }

    public func comment(video: VideoID, id: String) async throws -> VideoComment? {
        let keys = Keys(video)
        let reply = try await bus.scripts.run(
            RedisScripts.videoComment, keys: [keys.comments, keys.likeCounts], arguments: [RESPArgument(id)], on: bus.redis
        ).get()
        guard let parts = reply.array, parts.count == 2 else { return nil }
        return Self.comment(json: parts[0], likes: parts[1])
    }

    public func like(video: VideoID, id: String, user: String) async throws -> (count: Int, added: Bool)? {
        let keys = Keys(video)
        // Its segment's rank set is a key of the script, so the comment is read first.
        guard let comment = try await comment(video: video, id: id) else { return nil }
        let reply = try await bus.scripts.run(
            RedisScripts.likeVideoComment, keys: [keys.comments, keys.likers(id), keys.likeCounts, keys.ranks(of: comment)],
            arguments: [RESPArgument(id), RESPArgument(user), RESPArgument(VideoComment.rankPerLike), RESPArgument(maxLikersPerComment)],
            on: bus.redis
        ).get()
        if reply.integer == -1 { return nil }
        guard let parts = reply.array, parts.count == 2, let count = parts[0].integer, let added = parts[1].integer else {
            throw RedisError.unexpectedReply("like video comment: \(reply)")
        }
        return (Int(clamping: count), added == 1)
    }

    public func remove(video: VideoID, id: String) async throws -> Bool {
        let keys = Keys(video)
        guard let comment = try await comment(video: video, id: id) else { return false }
        let reply = try await bus.scripts.run(
            RedisScripts.removeVideoComment,
            keys: [keys.meta, keys.comments, keys.offsets, keys.likers(id), keys.likeCounts, keys.ranks(of: comment)],
            arguments: [RESPArgument(id)], on: bus.redis
        ).get()
        return reply.integer == 1
    }

    private static func comment(json: RESPValue, likes: RESPValue) -> VideoComment? {
        guard let bytes = json.bytes, var comment = try? WireCodec.decoder.decode(VideoComment.self, from: Data(bytes.readableBytesView)) else {
            return nil
        }
        let count = Int(clamping: likes.integer ?? 0)
        comment.likes = count > 0 ? count : nil
        return comment
    }
}

extension RedisScripts {
    /// Adds comments to a video's pool. KEYS: meta hash (`seq`, `count`, `published`), comments
    /// hash, offsets sorted set, then each comment's segment rank set. ARGV: the pool's limit,
    /// the origin (0 a post that may not start the pool, 1 one that may, 2 a publish), then (id,
    /// offset, JSON with `"seq":0`, 1 if privileged) per comment. An id in the pool already is
    /// skipped (its seq is 0 in the answer). Returns each comment's seq, -1 (nothing added)
    /// when the origin's allowance would be passed, or -2 when a post may not start the pool.
    static let addVideoComments = """
        local origin = tonumber(ARGV[2])
        local fresh = redis.call('EXISTS', KEYS[1]) == 0
        if origin == 0 and fresh then return -2 end
        local count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
        local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
        local published = tonumber(redis.call('HGET', KEYS[1], 'published') or '0')
        local new = 0
        for i = 3, #ARGV, 4 do
            if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0 then new = new + 1 end
        end
        if origin == 2 then
            if published + new > tonumber(ARGV[1]) then return -1 end
            published = published + new
        elseif count - published + new > tonumber(ARGV[1]) then
            return -1
        end
        local seqs = {}
        for i = 3, #ARGV, 4 do
            if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0 then
                seq = seq + 1
                count = count + 1
                -- Keys are sorted: the first "seq":0, is the field, before any text.
                local json = string.gsub(ARGV[i + 2], '"seq":0,', '"seq":' .. seq .. ',', 1)
                redis.call('HSET', KEYS[2], ARGV[i], json)
                redis.call('ZADD', KEYS[3], ARGV[i + 1], ARGV[i])
                -- VideoComment.rank with no likes: privileged 2^52, seq up to 2^26 - 1.
                redis.call('ZADD', KEYS[4 + (i - 3) / 4], tonumber(ARGV[i + 3]) * 4503599627370496 + math.min(seq, 67108863), ARGV[i])
                seqs[#seqs + 1] = seq
            else
                seqs[#seqs + 1] = 0
            end
        end
        redis.call('HSET', KEYS[1], 'seq', seq, 'count', count, 'published', published)
        -- A pool started now has every comment in its rank sets from the first.
        if fresh then redis.call('HSET', KEYS[1], 'ranked', 1) end
        return seqs
        """

    /// The highest-ranked comments of a video's segment. KEYS: comments hash, like counts hash,
    /// the segment's rank set, the pool's meta hash. ARGV: how many at most. Returns JSON and like
    /// count, in turn; or -1 when the pool was stored before segments had rank sets (its meta
    /// hash has no `ranked`) and must be ranked first (`rankOldPool`).
    static let videoSegment = """
        if redis.call('EXISTS', KEYS[4]) == 1 and redis.call('HEXISTS', KEYS[4], 'ranked') == 0 then return -1 end
        local ids = redis.call('ZRANGE', KEYS[3], 0, tonumber(ARGV[1]) - 1, 'REV')
        local out = {}
        for _, id in ipairs(ids) do
            local json = redis.call('HGET', KEYS[1], id)
            if json then
                out[#out + 1] = json
                out[#out + 1] = tonumber(redis.call('HGET', KEYS[2], id) or '0')
            end
        end
        return out
        """

    /// A run of a video's comments in offset order. KEYS: offsets sorted set, comments hash, like
    /// counts hash. ARGV: the first index, how many. Returns how many ids the run had, then
    /// {JSON, like count} for each comment still there.
    static let videoComments = """
        local ids = redis.call('ZRANGE', KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[1]) + tonumber(ARGV[2]) - 1)
        local out = {#ids}
        for _, id in ipairs(ids) do
            local json = redis.call('HGET', KEYS[2], id)
            if json then
                out[#out + 1] = json
                out[#out + 1] = tonumber(redis.call('HGET', KEYS[3], id) or '0')
            end
        end
        return out
        """

    /// One comment of a video. KEYS: comments hash, like counts hash. ARGV: id. Returns
    /// {JSON, like count}, or an empty array.
    static let videoComment = """
        local json = redis.call('HGET', KEYS[1], ARGV[1])
        if not json then return {} end
        return {json, tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')}
        """

    /// Ranks part of a pool stored before segments had rank sets: up to ARGV[3] comments of the
    /// comments hash from the cursor kept in the meta hash (`rankCursor`, HSCAN's), each in the
    /// rank set of its segment as `VideoComment.rank` ranks it (privileged 2^52, likes 2^26 each,
    /// then seq, each part below 2^26). KEYS: meta hash, comments hash, like counts hash. ARGV: a
    /// segment's length in ms, the rank sets' key prefix, how many. Returns 1 once the pool is
    /// ranked (`ranked` set), 0 while there is more. One call is short: Redis serves others
    /// between them. The rank sets are the pool's own keys, in its hash slot.
    static let rankOldPool = """
        if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'ranked') == 1 then return 1 end
        local cursor = redis.call('HGET', KEYS[1], 'rankCursor') or '0'
        local reply = redis.call('HSCAN', KEYS[2], cursor, 'COUNT', ARGV[3])
        local items = reply[2]
        for i = 1, #items, 2 do
            local comment = cjson.decode(items[i + 1])
            local privileged = comment.pool == true or (type(comment.user) == 'table' and type(comment.user.role) == 'string')
            local likes = math.min(tonumber(redis.call('HGET', KEYS[3], items[i]) or '0') or 0, 67108863)
            local seq = math.min(tonumber(comment.seq) or 0, 67108863)
            local rank = (privileged and 4503599627370496 or 0) + likes * 67108864 + seq
            local segment = math.floor(math.max(tonumber(comment.offsetMs) or 0, 0) / tonumber(ARGV[1]))
            redis.call('ZADD', ARGV[2] .. string.format('%d', segment), rank, items[i])
        end
        if reply[1] == '0' then
            redis.call('HSET', KEYS[1], 'ranked', 1)
            redis.call('HDEL', KEYS[1], 'rankCursor')
            return 1
        end
        redis.call('HSET', KEYS[1], 'rankCursor', reply[1])
        return 0
        """

    /// A like of a video's comment. KEYS: comments hash, the comment's likers set, like counts
    /// hash, its segment's rank set. ARGV: id, user, what a like adds to the rank, the likers
    /// remembered at most. Returns {count, 1 if the like counted}, or -1 for no such comment.
    static let likeVideoComment = """
        if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
        local count = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
        if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 1 then return {count, 0} end
        -- Past ARGV[4] likers the like counts without remembering who (LikersBound).
        if redis.call('SCARD', KEYS[2]) < tonumber(ARGV[4]) then redis.call('SADD', KEYS[2], ARGV[2]) end
        count = count + 1
        redis.call('HSET', KEYS[3], ARGV[1], count)
        -- VideoComment.rank counts likes up to 2^26 - 1.
        if count < 67108864 then redis.call('ZINCRBY', KEYS[4], ARGV[3], ARGV[1]) end
        return {count, 1}
        """

    /// Takes a comment out of a video's pool. KEYS: meta hash, comments hash, offsets sorted
    /// set, the comment's likers set, like counts hash, its segment's rank set. ARGV: id.
    /// Returns 1 if it was there.
    static let removeVideoComment = """
        if redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then return 0 end
        redis.call('ZREM', KEYS[3], ARGV[1])
        redis.call('ZREM', KEYS[6], ARGV[1])
        redis.call('DEL', KEYS[4])
        redis.call('HDEL', KEYS[5], ARGV[1])
        redis.call('HINCRBY', KEYS[1], 'count', -1)
        return 1
        """
}
