// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuRedis
import Foundation

/// Streams and replay in cluster mode: the comments are the room's Redis stream itself (what it
/// retains, `--history` entries per room, is what can be replayed), and the room's streams are
/// a hash beside it, so any logic node can start, end and replay any room's stream.
///
/// `danmaku:{ROOM}:streams` holds `next` (the last stream id), `live` (the live stream's id) and
/// one field per stream id with its `StreamRecord` as JSON; a script keeps start and end atomic.
public final class RedisReplay: ReplayStore {
    private let bus: RedisBus

    /// Streams and replay over `bus`'s Redis connection.
    public init(bus: RedisBus) {
        self.bus = bus
    }

    static func streamsKey(_ room: RoomID) -> String { "danmaku:{\(room.value)}:streams" }

    /// Starts a stream unless one is live: returns the live stream's record, or the new one's.
    static let start = """
        local live = redis.call('HGET', KEYS[1], 'live')
        if live then return redis.call('HGET', KEYS[1], live) end
        local id = redis.call('HINCRBY', KEYS[1], 'next', 1)
        local record = '{"room":' .. cjson.encode(ARGV[1]) .. ',"startedAt":' .. ARGV[2] .. ',"stream":' .. id .. '}'
        redis.call('HSET', KEYS[1], id, record, 'live', id)
        return record
        """

    /// Ends the live stream: returns its record with `endedAt`, or nil when none is live.
    static let end = """
        local live = redis.call('HGET', KEYS[1], 'live')
        if not live then return false end
        local record = cjson.decode(redis.call('HGET', KEYS[1], live))
        local ended = '{"endedAt":' .. ARGV[1] .. ',"room":' .. cjson.encode(record.room) .. ',"startedAt":' .. string.format('%d', record.startedAt) .. ',"stream":' .. live .. '}'
        redis.call('HSET', KEYS[1], live, ended)
        redis.call('HDEL', KEYS[1], 'live')
        return ended
        """

    public func startStream(room: RoomID, now: Int64) async throws -> StreamRecord {
        let reply = try await bus.scripts.run(
            Self.start, keys: [Self.streamsKey(room)], arguments: [RESPArgument(room.value), RESPArgument(now)], on: bus.redis
        ).get()
        return try Self.record(reply)
    }

    public func endStream(room: RoomID, now: Int64) async throws -> StreamRecord? {
        let reply = try await bus.scripts.run(Self.end, keys: [Self.streamsKey(room)], arguments: [RESPArgument(now)], on: bus.redis).get()
        return reply.isNull ? nil : try Self.record(reply)
    }

    public func stream(room: RoomID, id: Int64?) async throws -> StreamRecord? {
        let hash = Self.streamsKey(room)
        let key = RESPArgument(hash)
        var field = id.map(String.init)
        if field == nil {
            let next: RESPValue = try await bus.redis.send(RESPCommand("HGET", [key, "next"]), key: hash)
            field = next.string
        }
        guard let field else { return nil }
        let reply: RESPValue = try await bus.redis.send(RESPCommand("HGET", [key, RESPArgument(field)]), key: hash)
        return reply.isNull ? nil : try Self.record(reply)
    }

    /// Reads the room's stream in pages from its oldest entry, keeping the comments accepted in
    /// `[from, to)`; stops past `to` (seqs are given in acceptance order, give or take the few
    /// milliseconds two logic nodes' clocks and calls may differ by).
    public func comments(room: RoomID, from: Int64, to: Int64, limit: Int) async throws -> [EncodedComment] {
        let logKey = RedisKeys(room).log
        let log = RESPArgument(logKey)
        var start = "-"
        var found: [EncodedComment] = []
        let page = 1000
        while true {
            let reply: RESPValue = try await bus.redis.send(RESPCommand("XRANGE", [log, RESPArgument(start), "+", "COUNT", RESPArgument(page)]), key: logKey)
            let comments = try reply.streamComments(room: room)
            for comment in comments {
                guard let ts = comment.acceptedAtMilliseconds else { continue }
                if ts >= from && ts < to { found.append(comment) }
            }
            guard comments.count == page, let last = comments.last, (last.acceptedAtMilliseconds ?? 0) < to + 1000 else { break }
            start = "(\(last.seq)-0"
        }
        found.sort { ($0.acceptedAtMilliseconds ?? 0, $0.seq) < ($1.acceptedAtMilliseconds ?? 0, $1.seq) }
        return Array(found.prefix(limit))
    }

    private static func record(_ reply: RESPValue) throws -> StreamRecord {
        guard let text = reply.string, let record = try? JSONDecoder().decode(StreamRecord.self, from: Data(text.utf8)) else {
            throw RedisError.unexpectedReply("stream record: \(reply)")
        }
        return record
    }
}
