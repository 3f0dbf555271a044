// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuRedis
import Foundation
import NIOCore

/// Reports in Redis, shared by every logic node. A queue is a sorted set of comment ids
/// (`danmaku:{NAME}:reports`) scored `first report (ms) − reporters × 10^13`, so that reading it
/// from the bottom follows `ReportEntry.queueOrder`, equal scores by the smallest id as Redis
/// orders them (exact in a double: at most 100 × 10^13 < 2^53), and each queued comment a hash
/// (`danmaku:{NAME}:reported:ID`) holding the comment as first reported (`comment`), whether it is
/// hidden (`hidden`), its count (`n`), its first and last report (`first`, `last`, ms) and one
/// field per reporter (`u:USER`, the report as JSON). Two more sorted sets of the same ids say
/// what leaves first: `danmaku:{NAME}:reports:last`, scored by the last report (what expires), and
/// `danmaku:{NAME}:reports:evictable`, the entries not hidden scored `reporters × 10^13 + last
/// report` (what a full queue pushes out). `NAME` is the queue's name (`ReportQueue.name`) in
/// braces, a hash tag: a queue and its comments share one slot on a Redis Cluster, so each script
/// touches them together.
///
/// The keys expire `ReportBounds.keptMilliseconds` after the last report, and a report drops the
/// queue's entries last reported longer ago than that (a few per report) before it compares the
/// queue with its bound; an entry whose hash is gone is dropped when read or met.
public final class RedisReports: ReportStore {
    private let bus: RedisBus

    public init(bus: RedisBus) {
        self.bus = bus
    }

    private static func queueKey(_ queue: ReportQueue) -> String { "danmaku:{\(queue.name)}:reports" }
    private static func lastKey(_ queue: ReportQueue) -> String { "danmaku:{\(queue.name)}:reports:last" }
    private static func evictableKey(_ queue: ReportQueue) -> String { "danmaku:{\(queue.name)}:reports:evictable" }
    private static func entryPrefix(_ queue: ReportQueue) -> String { "danmaku:{\(queue.name)}:reported:" }
    private static func entryKey(_ queue: ReportQueue, _ id: String) -> String { entryPrefix(queue) + id }
    /// The queue's sorted sets, as the scripts take them: order, last report, evictable.
    private static func queueKeys(_ queue: ReportQueue) -> [String] { [queueKey(queue), lastKey(queue), evictableKey(queue)] }
    /// The latest time a score has room for (the year 2286), ms.
    private static let latestTime: Int64 = 9_999_999_999_999

    public func file(_ report: CommentReport, by user: String, of comment: ReportedComment, in queue: ReportQueue) async throws -> ReportOutcome {
        let reply = try await bus.scripts.run(
            RedisScripts.fileReport, keys: Self.queueKeys(queue) + [Self.entryKey(queue, comment.id)],
            arguments: [
                RESPArgument(comment.id), RESPArgument("u:" + user), RESPArgument(bytes: try WireCodec.encode(report)),
                RESPArgument(bytes: try WireCodec.encode(comment)), RESPArgument(ReportBounds.reportsPerComment),
                RESPArgument(ReportBounds.commentsPerQueue), RESPArgument(ReportBounds.keptMilliseconds),
                // Within the score's room for a time.
                RESPArgument(min(max(report.ts, 0), Self.latestTime)),
                RESPArgument(Self.entryPrefix(queue)),
                RESPArgument(min(max(ReportBounds.expiryCutoff(now: report.ts), 0), Self.latestTime)),
            ],
            on: bus.redis
        ).get()
        guard let parts = reply.array, parts.count == 3, let verdict = parts[0].string, let count = parts[1].integer,
              let hidden = parts[2].integer else {
            throw RedisError.unexpectedReply("report: \(reply)")
        }
        switch verdict {
        case "already": return .alreadyReported
        case "full": return .queueFull
        case "counted":
            // Checked as read: a count outside what a comment may keep is taken as the bound.
            return .counted(reporters: min(max(Int(clamping: count), 1), ReportBounds.reportsPerComment), hidden: hidden == 1)
        default: throw RedisError.unexpectedReply("report: \(reply)")
        }
    }

    public func entries(in queue: ReportQueue, limit: Int) async throws -> [ReportEntry] {
        let limit = min(max(limit, 0), ReportBounds.commentsPerQueue)
        guard limit > 0 else { return [] }
        let key = Self.queueKey(queue)
        let reply = try await bus.redis.send(RESPCommand("ZRANGE", [RESPArgument(key), 0, RESPArgument(limit - 1)]), key: key)
        guard let members = reply.array else { throw RedisError.unexpectedReply("reports: \(reply)") }
        var entries: [ReportEntry] = []
        for id in members.compactMap(\.string) {
            if let entry = try await entry(id: id, in: queue) {
                entries.append(entry)
            } else {
                // Its hash expired or was lost: out of every set, unless a report filed since the
                // read recreated it (then it is listed next time).
                _ = try await bus.scripts.run(
                    RedisScripts.forgetLostReported, keys: Self.queueKeys(queue) + [Self.entryKey(queue, id)], arguments: [RESPArgument(id)],
                    on: bus.redis
                ).get()
            }
        }
        return entries.sorted(by: ReportEntry.queueOrder)
    }

    /// The entry as its hash holds it; fields that do not decode (written by another version, or
    /// by hand) are left out, and a hash without a readable comment is no entry.
    public func entry(id: String, in queue: ReportQueue) async throws -> ReportEntry? {
        let key = Self.entryKey(queue, id)
        let reply = try await bus.redis.send(RESPCommand("HGETALL", [RESPArgument(key)]), key: key)
        guard let flat = reply.array else { throw RedisError.unexpectedReply("reported: \(reply)") }
        var comment: ReportedComment?
        var hidden = false
        var reports: [CommentReport] = []
        var index = 0
        while index + 1 < flat.count {
            let field = flat[index].string ?? ""
            let value = flat[index + 1].bytes ?? ByteBuffer()
            index += 2
            let data = Data(value.readableBytesView)
            if field == "comment" {
                comment = try? WireCodec.decoder.decode(ReportedComment.self, from: data)
            } else if field == "hidden" {
                hidden = String(buffer: value) == "1"
            } else if field.hasPrefix("u:"), reports.count < ReportBounds.reportsPerComment,
                      let report = try? WireCodec.decoder.decode(CommentReport.self, from: data) {
                reports.append(report)
            }
        }
        guard let comment, comment.id == id else { return nil }
        return ReportEntry(comment: comment, reports: reports, hidden: hidden)
    }

    public func markHidden(id: String, in queue: ReportQueue) async throws -> Bool {
        let reply = try await bus.scripts.run(
            RedisScripts.hideReported, keys: [Self.evictableKey(queue), Self.entryKey(queue, id)], arguments: [RESPArgument(id)], on: bus.redis
        ).get()
        return reply.integer == 1
    }

    public func resolve(id: String, in queue: ReportQueue) async throws -> Bool {
        let reply = try await bus.scripts.run(
            RedisScripts.resolveReported, keys: Self.queueKeys(queue) + [Self.entryKey(queue, id)], arguments: [RESPArgument(id)], on: bus.redis
        ).get()
        return (reply.integer ?? 0) > 0
    }
}

extension RedisScripts {
    /// Files a report: KEYS are the queue's sorted sets (order, last report, evictable) and the
    /// comment's hash; ARGV[1] the comment's id, ARGV[2] the reporter's field (`u:USER`), ARGV[3]
    /// the report, ARGV[4] the comment as JSON, ARGV[5] the most reports a comment keeps, ARGV[6]
    /// the most comments a queue holds, ARGV[7] the keys' lifetime (ms), ARGV[8] the report's time
    /// (ms), kept as the comment's first report when it enters the queue, ARGV[9] the prefix of
    /// the queue's comment hashes (same hash tag, so the same slot), ARGV[10] the expiry cutoff:
    /// entries last reported before it leave. Returns {'already'|'full'|'counted', reporters,
    /// 1 if hidden}.
    ///
    /// Before the queue is compared with its bound, expired entries leave (16 at most per call,
    /// oldest first); a full queue then pushes out its first evictable entry (fewest reporters,
    /// oldest last report, smallest id; hidden ones are not evictable), and is 'full' only when
    /// none is left, after dropping members whose hash is gone (they hold no place).
    static let fileReport = """
        local function drop(id)
            redis.call('ZREM', KEYS[1], id)
            redis.call('ZREM', KEYS[2], id)
            redis.call('ZREM', KEYS[3], id)
            redis.call('DEL', ARGV[9] .. id)
        end
        for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[10], 'LIMIT', 0, 16)) do drop(id) end
        local present = redis.call('EXISTS', KEYS[4]) == 1
        if present and redis.call('HEXISTS', KEYS[4], ARGV[2]) == 1 then return {'already', 0, 0} end
        local most = tonumber(ARGV[6])
        if not present then
            drop(ARGV[1])
            while redis.call('ZCARD', KEYS[1]) >= most do
                local victim = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
                if victim then
                    drop(victim)
                else
                    for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
                        if redis.call('EXISTS', ARGV[9] .. id) == 0 then drop(id) end
                    end
                    if redis.call('ZCARD', KEYS[1]) >= most then return {'full', 0, 0} end
                end
            end
            redis.call('HSET', KEYS[4], 'comment', ARGV[4], 'n', '0', 'first', ARGV[8], 'last', ARGV[8])
        end
        local function clamped(field, low, high)
            local value = tonumber(redis.call('HGET', KEYS[4], field) or '') or low
            return math.min(math.max(value, low), high)
        end
        local first = clamped('first', 0, 9999999999999)
        local n = clamped('n', 0, tonumber(ARGV[5]))
        if n < tonumber(ARGV[5]) then
            redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
            n = redis.call('HINCRBY', KEYS[4], 'n', 1)
        end
        local last = math.max(clamped('last', 0, 9999999999999), tonumber(ARGV[8]))
        redis.call('HSET', KEYS[4], 'last', string.format('%d', last))
        local hidden = 0
        if redis.call('HGET', KEYS[4], 'hidden') == '1' then hidden = 1 end
        redis.call('ZADD', KEYS[1], string.format('%d', first - n * 10000000000000), ARGV[1])
        redis.call('ZADD', KEYS[2], string.format('%d', last), ARGV[1])
        if hidden == 0 then redis.call('ZADD', KEYS[3], string.format('%d', n * 10000000000000 + last), ARGV[1]) end
        for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[7]) end
        return {'counted', n, hidden}
        """

    /// Marks comment ARGV[1], of hash KEYS[2], hidden, and takes it out of the queue's evictable
    /// set KEYS[1] (a hidden comment is never pushed out); 1 when it is queued, else 0.
    static let hideReported = """
        if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
        redis.call('HSET', KEYS[2], 'hidden', '1')
        redis.call('ZREM', KEYS[1], ARGV[1])
        return 1
        """

    /// Takes comment ARGV[1] out of the queue's sorted sets KEYS[1..3] when its hash KEYS[4] is
    /// gone (expired or lost); 1 when it did. A hash that exists again was made by a report filed
    /// since it was found missing, and stays.
    static let forgetLostReported = """
        if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('ZREM', KEYS[3], ARGV[1])
        redis.call('ZREM', KEYS[1], ARGV[1])
        return 1
        """

    /// Takes comment ARGV[1] out of the queue's sorted sets KEYS[1..3] and deletes its hash
    /// KEYS[4]; how many of the queue's set and the hash were there.
    static let resolveReported = """
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('ZREM', KEYS[3], ARGV[1])
        return redis.call('ZREM', KEYS[1], ARGV[1]) + redis.call('DEL', KEYS[4])
        """
}
