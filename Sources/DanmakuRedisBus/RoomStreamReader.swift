// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import DanmakuRedis
import NIOCore

/// Reads of a room's comment stream and retraction stream, for what a push node's feeds did not
/// get by pub/sub (`RedisFeeds`): gaps, the comparison after a failover, retractions missed.
struct RoomStreamReader: Sendable {
    let redis: RedisRouter

    /// Comments of `room` with seqs in `range`, read from the stream.
    func comments(room: RoomID, range: ClosedRange<UInt64>) -> EventLoopFuture<[EncodedComment]> {
        let keys = RedisKeys(room)
        return redis.send(RESPCommand("XRANGE", [
            RESPArgument(keys.log), RESPArgument("\(range.lowerBound)-0"), RESPArgument("\(range.upperBound)-0"),
        ]), key: keys.log).flatMapThrowing { try $0.streamComments(room: room) }
    }

    /// The room's latest `count` stream entries, oldest first, and the epoch of its numbering
    /// (read in the same step, 0 for none).
    func latestWithEpoch(room: RoomID, count: Int) -> EventLoopFuture<(comments: [EncodedComment], epoch: Int64)> {
        let keys = RedisKeys(room)
        return redis.send([
            RESPCommand("XREVRANGE", [RESPArgument(keys.log), RESPArgument("+"), RESPArgument("-"), RESPArgument("COUNT"), RESPArgument(count)]),
            RESPCommand("GET", [RESPArgument(keys.epoch)]),
        ], key: keys.log).flatMapThrowing { answers in
            guard answers.count == 2 else { throw RedisError.unexpectedReply("latest entries: \(answers.count) answers") }
            let comments = try answers[0].get().streamComments(room: room).reversed()
            return (Array(comments), try answers[1].get().integer ?? 0)
        }
    }

    /// The room's retractions numbered in `range`, read back from the retraction stream (those
    /// trimmed from it are not there).
    func retractions(room: RoomID, range: ClosedRange<UInt64>) -> EventLoopFuture<[RetractionLine]> {
        readRetractions(room: room, RESPCommand("XRANGE", [
            RESPArgument(RedisKeys(room).retractions), RESPArgument("\(range.lowerBound)-0"), RESPArgument("\(range.upperBound)-0"),
        ]))
    }

    /// The room's latest `count` retractions, oldest first.
    func latestRetractions(room: RoomID, count: Int) -> EventLoopFuture<[RetractionLine]> {
        readRetractions(room: room, RESPCommand("XREVRANGE", [
            RESPArgument(RedisKeys(room).retractions), RESPArgument("+"), RESPArgument("-"), RESPArgument("COUNT"), RESPArgument(count),
        ])).map { $0.reversed() }
    }

    private func readRetractions(room: RoomID, _ command: RESPCommand) -> EventLoopFuture<[RetractionLine]> {
        let key = RedisKeys(room).retractions
        return redis.send(command, key: key).flatMapThrowing { reply in
            guard let entries = reply.array else { throw RedisError.unexpectedReply("retractions: \(reply)") }
            // An entry that is not a retraction is passed over: one bad entry must not stop the rest.
            return entries.compactMap { entry in
                guard let parts = entry.array, parts.count == 2, let fields = parts[1].array, fields.count >= 2, let line = fields[1].bytes else {
                    return nil
                }
                return RetractionLine(line: line)
            }
        }
    }
}
