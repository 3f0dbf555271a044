// Danmaku — a live-stream bullet-comment service.

import DanmakuCore

/// One broadcast of a room, from `POST …/live` to `DELETE …/live`: what a replay is measured from.
public struct StreamRecord: Codable, Sendable, Equatable {
    /// The room streamed.
    public var room: String
    /// Increases with every stream of the node's archive.
    public var stream: Int64
    /// Start, ms since the epoch.
    public var startedAt: Int64
    /// End, ms since the epoch; nil while live.
    public var endedAt: Int64?

    public init(room: String, stream: Int64, startedAt: Int64, endedAt: Int64?) {
        self.room = room
        self.stream = stream
        self.startedAt = startedAt
        self.endedAt = endedAt
    }
}

/// Where streams and every accepted comment are kept, so a recorded video can show its danmaku
/// again (`GET /v1/rooms/{room}/replay`).
public protocol ReplayStore: Sendable {
    /// Starts a stream of `room` at `now` (ms); when one is live already, that one.
    func startStream(room: RoomID, now: Int64) async throws -> StreamRecord
    /// Ends the live stream of `room` at `now`; nil when none is live.
    func endStream(room: RoomID, now: Int64) async throws -> StreamRecord?
    /// Stream `id` of `room`, or its latest when `id` is nil; nil when there is none.
    func stream(room: RoomID, id: Int64?) async throws -> StreamRecord?
    /// The room's comments accepted in `[from, to)` (ms since the epoch), in time order, at most `limit`.
    func comments(room: RoomID, from: Int64, to: Int64, limit: Int) async throws -> [EncodedComment]
}
