// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuLogic
/// The schemas of a video's comment pool: posting at an offset, segments, likes and removals,
/// publishing a stream into the pool, and importing a file into it.
enum VideoSchemas {
    /// The named schemas of this area, in the order the document lists them.
    static let named: [(name: String, schema: JSONSchema)] = [
        ("VideoCommentRequest", videoCommentRequest),
        ("VideoCommentReceipt", videoCommentReceipt),
        ("Segment", segment),
        // A video comment's like answers as a live one's does.
        ("VideoLike", CommentSchemas.like),
        ("VideoRemoval", videoRemoval),
        ("PublishRequest", publishRequest),
        ("Published", published),
        ("Imported", imported),
        ("PoolComments", .array(videoComment)),
    ]

    // MARK: Videos

    /// A video comment's offset: 0 to a century in ms (`ClientNumber.maxOffsetMilliseconds`).
    private static let offsetField: (String, JSONSchema) = (
        "offsetMs", .integer(minimum: 0, maximum: Int64(clamping: ClientNumber.maxOffsetMilliseconds))
    )

    /// A live comment's fields plus `offsetMs` (`VideosAPI.post` decodes the body twice).
    private static let videoCommentRequest: JSONSchema = .object(CommentSchemas.commentRequestFields + [offsetField], required: ["text", "offsetMs"])

    /// The 201 of a video comment; a retry with the same `Idempotency-Key` gets the same.
    private static let videoCommentReceipt: JSONSchema = .object(
        [("id", FieldSchemas.commentID), ("video", FieldSchemas.videoID), ("seq", FieldSchemas.storedSeq), offsetField, ("ts", FieldSchemas.milliseconds)],
        required: ["id", "video", "seq", "offsetMs", "ts"])

    /// `VideoComment` as a segment serves it. A published stream's comments keep their author,
    /// style and `ts` (when posted live); notices are never published. `likes` is left out until
    /// someone likes it.
    private static let videoComment: JSONSchema = .object(
        [
            ("seq", FieldSchemas.storedSeq),
            ("id", FieldSchemas.commentID),
            ("video", FieldSchemas.videoID),
            ("offsetMs", .integer(minimum: 0)),
        ] + CommentSchemas.stored + [
            ("likes", .integer(minimum: 1)),
        ], required: ["seq", "id", "video", "offsetMs", "user", "text", "color", "mode", "ts"])

    /// `GET /v1/videos/{video}/segments/{n}` (200; a 304 has no body): offsets `[from, to)`, six
    /// minutes. Its comments are capped by `--video-segment-cap` (3000 by default), a flag, so no
    /// `maxItems`.
    private static let segment: JSONSchema = .object(
        [
            ("video", FieldSchemas.videoID),
            ("segment", .integer(minimum: 0, maximum: Int64(clamping: VideoSegment.numbers.upperBound))),
            ("from", .integer(minimum: 0)),
            ("to", .integer(minimum: VideoSegment.milliseconds)),
            ("comments", .array(videoComment)),
        ], required: ["video", "segment", "from", "to", "comments"])

    /// `DELETE /v1/videos/{video}/comments/{id}`: the comment taken out of the pool.
    private static let videoRemoval: JSONSchema = .object(
        [("video", FieldSchemas.videoID), ("id", FieldSchemas.commentID), ("seq", FieldSchemas.storedSeq)], required: ["video", "id", "seq"])

    /// `POST /v1/videos/{video}/publish`: a malformed `room` is `400 invalid_room`; `stream`
    /// absent or `null` means the room's latest.
    private static let publishRequest: JSONSchema = .object(
        [("room", FieldSchemas.roomID), ("stream", .nullable(.integer(minimum: 1, maximum: Int64(clamping: ClientNumber.maxSeq))))],
        required: ["room"])

    /// What an import did: comments read, added (not those the pool had), and left out with the
    /// line and why.
    private static let imported: JSONSchema = .object(
        [
            ("video", FieldSchemas.videoID),
            ("format", .enumeration(["bilibili-xml"])),
            ("read", .integer(minimum: 0)),
            ("added", .integer(minimum: 0)),
            ("skipped", .array(.object([("line", .integer(minimum: 0)), ("reason", .string())], required: ["line", "reason"]))),
        ], required: ["video", "format", "read", "added", "skipped"])

    /// Only an ended stream is published (`409 stream_live` otherwise), so `endedAt` is always
    /// there. `added` is 0 for a stream published before.
    private static let published: JSONSchema = .object(
        [
            ("video", FieldSchemas.videoID),
            ("room", FieldSchemas.roomID),
            ("stream", .integer(minimum: 1)),
            ("startedAt", FieldSchemas.milliseconds),
            ("endedAt", FieldSchemas.milliseconds),
            ("added", .integer(minimum: 0)),
        ], required: ["video", "room", "stream", "startedAt", "endedAt", "added"])
}
