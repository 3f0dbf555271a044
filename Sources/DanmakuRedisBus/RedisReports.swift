// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuRedis
import Foundation
import NIOCore

/// Reports in Redis, shared by every logic node. A queue is a sorted set of comment ids
/// (`danmaku:{NAME}:reports`) scored `reporters × 10^13 − first report (ms)`, so that reading it
/// from the top follows `ReportEntry.queueOrder` (exact in a double: at most 100 × 10^13 < 2^53),
/// and each queued comment a hash
/// (`danmaku:{NAME}:reported:ID`) holding the comment as first reported (`comment`), whether it is
/// hidden (`hidden`), its count (`n`) and one field per reporter (`u:USER`, the report as JSON).
/// `NAME` is the queue's name (`ReportQueue.name`) in braces, a hash tag: a queue and its comments
/// share one slot on a Redis Cluster, so each script touches them together.
///
/// The keys expire `ReportBounds.keptMilliseconds` after the last report (a queue nobody works
/// on does not stay for ever); an entry whose hash expired before its queue is dropped when read.
public final class RedisReports: ReportStore {
    private let bus: RedisBus

    public init(bus: RedisBus) {
        self.bus = bus
    }

    private static func queueKey(_ queue: ReportQueue) -> String { "danmaku:{\(queue.name)}:reports" }
    private static func entryKey(_ queue: ReportQueue, _ id: String) -> String { "danmaku:{\(queue.name)}:reported:\(id)" }

    public func file(_ report: CommentReport, by user: String, of comment: ReportedComment, in queue: ReportQueue) async throws -> ReportOutcome {
        let reply = try await bus.scripts.run(
            RedisScripts.fileReport, keys: [Self.queueKey(queue), Self.entryKey(queue, comment.id)],
            arguments: [
                RESPArgument(comment.id), RESPArgument("u:" + user), RESPArgument(bytes: try WireCodec.encode(report)),
                RESPArgument(bytes: try WireCodec.encode(comment)), RESPArgument(ReportBounds.reportsPerComment),
                RESPArgument(ReportBounds.commentsPerQueue), RESPArgument(ReportBounds.keptMilliseconds),
                // Within the score's room for a time (up to the year 2286).
                RESPArgument(min(max(report.ts, 0), 9_999_999_999_999)),
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
        let reply = try await bus.redis.send(RESPCommand("ZREVRANGE", [RESPArgument(key), 0, RESPArgument(limit - 1)]), key: key)
        guard let members = reply.array else { throw RedisError.unexpectedReply("reports: \(reply)") }
        var entries: [ReportEntry] = []
        for id in members.compactMap(\.string) {
            if let entry = try await entry(id: id, in: queue) {
                entries.append(entry)
            } else {
                _ = try await bus.redis.send(RESPCommand("ZREM", [RESPArgument(key), RESPArgument(id)]), key: key)
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
        let reply = try await bus.scripts.run(RedisScripts.hideReported, keys: [Self.entryKey(queue, id)], arguments: [], on: bus.redis).get()
        return reply.integer == 1
    }

    public func resolve(id: String, in queue: ReportQueue) async throws -> Bool {
        let reply = try await bus.scripts.run(
            RedisScripts.resolveReported, keys: [Self.queueKey(queue), Self.entryKey(queue, id)], arguments: [RESPArgument(id)], on: bus.redis
        ).get()
        return (reply.integer ?? 0) > 0
    }
}

extension RedisScripts {
    /// Files a report: KEYS are the queue and the comment's hash; ARGV[1] the comment's id, ARGV[2]
    /// the reporter's field (`u:USER`), ARGV[3] the report, ARGV[4] the comment as JSON, ARGV[5]
    /// the most reports a comment keeps, ARGV[6] the most comments a queue holds, ARGV[7] the keys'
    /// lifetime (ms), ARGV[8] the report's time (ms), kept as the comment's first report when it
    /// enters the queue. Returns {'already'|'full'|'counted', reporters, 1 if hidden}.
    static let fileReport = """
        local present = redis.call('EXISTS', KEYS[2]) == 1
        if present and redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return {'already', 0, 0} end
        if not present then
            if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[6]) then
                return {'full', 0, 0}
            end
            redis.call('HSET', KEYS[2], 'comment', ARGV[4], 'n', '0', 'first', ARGV[8])
        end
        local first = tonumber(redis.call('HGET', KEYS[2], 'first') or ARGV[8]) or 0
        local n = tonumber(redis.call('HGET', KEYS[2], 'n') or '0') or 0
        if n < tonumber(ARGV[5]) then
            redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
            n = redis.call('HINCRBY', KEYS[2], 'n', 1)
        end
        redis.call('ZADD', KEYS[1], string.format('%d', n * 10000000000000 - first), ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[7])
        redis.call('PEXPIRE', KEYS[2], ARGV[7])
        local hidden = 0
        if redis.call('HGET', KEYS[2], 'hidden') == '1' then hidden = 1 end
        return {'counted', n, hidden}
        """

    /// Marks the comment of hash KEYS[1] hidden; 1 when it is queued, else 0.
    static let hideReported = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[1], 'hidden', '1')
        return 1
        """

    /// Takes comment ARGV[1] out of queue KEYS[1] and deletes its hash KEYS[2]; how many of the
    /// two were there.
    static let resolveReported = """
        return redis.call('ZREM', KEYS[1], ARGV[1]) + redis.call('DEL', KEYS[2])
        """
}
