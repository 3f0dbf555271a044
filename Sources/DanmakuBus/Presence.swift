// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Synchronization

/// Where push nodes report how many viewers each room has on them, and where every node reads
/// the totals: the online counts of `hello`, `online` messages and `GET /v1/rooms`.
public protocol PresenceStore: Sendable {
    /// Reports this node's viewers per room (empty for a node without viewers) and returns the
    /// deployment's totals per room.
    func exchange(local: [RoomID: Int]) async throws -> [RoomID: Int]

    /// Withdraws this node's report (on shutdown), so its viewers stop counting at once.
    func withdraw() async
}

/// One process: its own counts are the totals.
public struct MemoryPresence: PresenceStore {
    public init() {}

    public func exchange(local: [RoomID: Int]) async throws -> [RoomID: Int] { local }

    public func withdraw() async {}
}

/// The latest totals, read by the request and push paths without waiting for the store.
public final class OnlineDirectory: Sendable {
    private let totals = Mutex<[RoomID: Int]>([:])

    public init() {}

    /// Replaces the totals with a fresh exchange's.
    public func replace(_ counts: [RoomID: Int]) {
        totals.withLock { $0 = counts.filter { $0.value > 0 } }
    }

    /// Viewers of `room` across the deployment, as of the last exchange.
    public func count(_ room: RoomID) -> Int {
        totals.withLock { $0[room] ?? 0 }
    }

    /// The `limit` rooms with the most viewers, most first (ties by room id).
    public func busiest(_ limit: Int) -> [(room: RoomID, online: Int)] {
        let all = totals.withLock { $0 }
        return all.map { (room: $0.key, online: $0.value) }
            .sorted { $0.online != $1.online ? $0.online > $1.online : $0.room.value < $1.room.value }
            .prefix(limit).map { $0 }
    }
}
