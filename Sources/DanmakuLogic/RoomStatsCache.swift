// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Synchronization

/// Room stats as last computed, reused for a second: each costs a read of up to 1,000 comments,
/// and a busy dashboard or `?top=100` asks for the same rooms again and again.
final class RoomStatsCache: Sendable {
    /// How long an entry is reused, ms.
    static let lifetimeMilliseconds: Int64 = 1000
    /// Past this many entries the cache is emptied (a flood of fresh room ids cannot grow it).
    static let capacity = 10_000

    private let entries = Mutex<[RoomID: (at: Int64, stats: RoomStats)]>([:])

    func stats(_ room: RoomID, now: Int64) -> RoomStats? {
        entries.withLock { entries in
            guard let entry = entries[room], now - entry.at < Self.lifetimeMilliseconds else { return nil }
            return entry.stats
        }
    }

    func store(_ stats: RoomStats, room: RoomID, now: Int64) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[room] = (now, stats)
        }
    }
}
