// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuLogic
import Foundation
import NIOCore

/// `GET /v1/admin/stats`: what the dashboard (`/admin`) draws, for admins (and moderators without
/// a room scope). The node's metrics as numbers (the page turns counters into rates between two
/// reads), the busiest rooms with their settings, every node's viewers (in cluster mode as the
/// nodes report them to Redis), and with `?since=` the figures of the last minutes.
struct AdminAPI: Sendable {
    /// Who is an admin.
    let moderators: ModerationActions
    /// The busiest rooms.
    let rooms: RoomQueries
    /// Room settings, shown next to each busy room.
    let moderation: any ModerationStore
    /// This node's metrics, every node's viewers, and the last minutes of charted figures.
    let figures: NodeFigures
    /// This node's name (`--node-name`).
    let nodeName: String

    /// Rooms listed.
    static let topRooms = 20

    struct Stats: Encodable {
        var node: String
        /// When the figures were read, in milliseconds since 1970.
        var at: Int64
        /// Each sample of `/metrics` by its series (`name` or `name{label="value"}`); histogram
        /// buckets are left out (their `_count` and `_sum` are kept).
        var metrics: [String: Double]
        var rooms: [Room]
        var nodes: [Node]
        /// With `?since=`: the samples of the charted figures taken after it, one a second,
        /// oldest first (at most the last 15 minutes).
        var history: [StatsHistory.Sample]?
    }

    struct Room: Encodable {
        var room: String
        var online: Int
        var lastSeq: UInt64
        var commentsPerSecond: Double
        var slowModeSeconds: Int?
        var rate: String?
        var displayPerSecond: Int?
    }

    struct Node: Encodable {
        var node: String
        var viewers: Int
        var rooms: Int
    }

    /// - Parameter historySince: with a time (milliseconds since 1970), the figures recorded after it are included.
    func stats(token: String?, historySince: Int64?, on eventLoop: any EventLoop) async -> ModerationAPI.Answer {
        if case .failure(let error) = await moderators.moderator(token: token, room: nil) { return .failure(error) }
        let busiest: [RoomStats]
        switch await rooms.busiestRooms(limit: Self.topRooms, on: eventLoop) {
        case .success(let rooms): busiest = rooms
        case .failure(let error): return .failure(error)
        }
        var rooms: [Room] = []
        for stats in busiest {
            // Settings are shown when the store answers; the figures do not depend on them.
            var settings: RoomSettings?
            if let id = RoomID(stats.room) { settings = try? await moderation.settings(room: id) }
            rooms.append(Room(
                room: stats.room, online: stats.online, lastSeq: stats.lastSeq, commentsPerSecond: stats.commentsPerSecond,
                slowModeSeconds: settings?.slowModeSeconds, rate: settings?.rate, displayPerSecond: settings?.displayPerSecond))
        }
        let nodes = await figures.nodeReports().map { Node(node: $0.key, viewers: $0.value.values.reduce(0, +), rooms: $0.value.count) }
        return .success(RoomsAPI.encode(Stats(
            node: nodeName, at: currentTimeMillis(), metrics: MetricsSample(text: String(decoding: figures.metricsText(), as: UTF8.self)).series,
            rooms: rooms, nodes: nodes.sorted { $0.node < $1.node },
            history: historySince.map { figures.history?.samples(after: $0) ?? [] })))
    }
}
