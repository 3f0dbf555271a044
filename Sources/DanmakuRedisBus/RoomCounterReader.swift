// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import DanmakuRedis
import Logging
import NIOCore

/// Where a room's numberings stand.
struct RoomCounters {
    /// The room's last seq.
    var lastSeq: UInt64
    /// How many retractions the room has had (the last one's `n`).
    var retractions: UInt64
    /// The numbering the seqs belong to (ms when it started; 0 when the room has none).
    var epoch: Int64
}

/// Rooms' counters as a push node's feeds poll them (`RedisFeeds`), and the raise of one a
/// failover left behind.
struct RoomCounterReader: Sendable {
    let redis: RedisRouter
    let scripts: RedisScriptCache
    let metrics: BusMetrics
    let logger: Logger

    /// The rooms' counters (0 for a room never posted to, or with nothing ever retracted) and
    /// the epochs their numberings belong to (0 for none).
    func read(_ rooms: [RoomID]) -> EventLoopFuture<[RoomCounters]> {
        let keys = rooms.flatMap { room -> [String] in
            let keys = RedisKeys(room)
            return [keys.seq, keys.retractionCount, keys.epoch]
        }
        return redis.mget(keys).map { values in
            stride(from: 0, to: values.count - 2, by: 3).map { index in
                RoomCounters(
                    lastSeq: min(UInt64(clamping: values[index].integer ?? 0), ClientNumber.maxSeq),
                    retractions: min(UInt64(clamping: values[index + 1].integer ?? 0), ClientNumber.maxSeq),
                    epoch: values[index + 2].integer ?? 0)
            }
        }
    }

    /// Raises `room`'s counter to `seq` (`RedisScripts.raiseCounter`) when a failover left it
    /// below a seq this push node was given in numbering `epoch`, so that no new comment is
    /// numbered with it. A numbering that started over (another epoch) is left alone.
    func raise(_ room: RoomID, to seq: UInt64, epoch: Int64) {
        // Lua holds numbers as doubles: past 2^53 a comparison would be inexact.
        guard seq <= 1 << 53, epoch > 0 else { return }
        let keys = RedisKeys(room)
        scripts.run(
            RedisScripts.raiseCounter, keys: [keys.seq, keys.epoch], arguments: [RESPArgument(String(seq)), RESPArgument(String(epoch))], on: redis
        ).whenSuccess { [metrics, logger] reply in
            guard reply.integer == 1 else { return }
            metrics.countersRaised.increment()
            logger.warning("a room's counter was behind seqs already published (a failover); raised", metadata: [
                "room": "\(room)", "seq": "\(seq)",
            ])
        }
    }
}
