// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuLogic
/// The schemas of a room as a whole: its figures, the busiest rooms, its streams and their replay.
enum RoomSchemas {
    /// The named schemas of this area, in the order the document lists them.
    static let named: [(name: String, schema: JSONSchema)] = [
        ("RoomStats", roomStats),
        ("Rooms", rooms),
        ("Stream", stream),
        ("Replay", replay),
    ]

    // MARK: Rooms

    /// `RoomStats`: viewers across the deployment, the latest seq, comments per second over the
    /// last 10 s (rounded to 0.1).
    private static let roomStats: JSONSchema = .object(
        [("room", FieldSchemas.roomID), ("online", .integer(minimum: 0)), ("lastSeq", FieldSchemas.lastSeq), ("commentsPerSecond", .number(minimum: 0))],
        required: ["room", "online", "lastSeq", "commentsPerSecond"])

    /// `GET /v1/rooms?top=N`: at most `RoomsAPI.maxTop` rooms, most viewers first.
    private static let rooms: JSONSchema = .object(
        [("rooms", .array(.ref("RoomStats"), maxItems: RoomsAPI.maxTop))], required: ["rooms"])

    // MARK: Streams and replay

    /// `StreamRecord`. `POST …/live` answers a live stream (no `endedAt`); `DELETE …/live` the
    /// stream it ended (with `endedAt`).
    private static let stream: JSONSchema = .object(
        [("room", FieldSchemas.roomID), ("stream", .integer(minimum: 1)), ("startedAt", FieldSchemas.milliseconds), ("endedAt", FieldSchemas.milliseconds)],
        required: ["room", "stream", "startedAt"])

    /// `RoomsAPI.replayBody`: the stream (no `endedAt` while it is live) and its comments (notices
    /// too: the archive keeps them), each at its offset in ms from the stream's start, in offset
    /// order; at most `RoomsAPI.maxReplayLimit` (`?limit=`).
    private static let replay: JSONSchema = .object(
        [
            ("room", FieldSchemas.roomID),
            ("stream", .integer(minimum: 1)),
            ("startedAt", FieldSchemas.milliseconds),
            ("endedAt", FieldSchemas.milliseconds),
            (
                "comments",
                .array(
                    .object([("offset", .integer(minimum: 0)), ("comment", .ref("Comment"))], required: ["offset", "comment"]),
                    maxItems: RoomsAPI.maxReplayLimit)
            ),
        ], required: ["room", "stream", "startedAt", "comments"])
}
