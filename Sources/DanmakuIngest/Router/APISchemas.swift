// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuLogic

/// The named schemas of the API document (`components.schemas`): each body a client sends and each answer it gets, as the handlers decode and encode them.
///
/// Two rules shape every schema here, because a fuzzer (Schemathesis) checks the server against them:
/// - A request schema must accept every body the server accepts. Where the server checks something
///   JSON Schema cannot say (grapheme counts after trimming, UTF-8 byte counts, the 4 KiB body limit
///   of `--max-body-bytes`), the schema says less, never more. Every request decoder ignores unknown
///   keys, so no request schema is closed; and Swift's decoders take an explicit `null` for an
///   optional field as "absent", so optional request fields are nullable.
/// - An answer schema must hold for every answer. The encoders are synthesized (`encodeIfPresent`):
///   a nil field is left out, never written as `null`, so optional answer fields are simply not
///   required. Answers are not closed: clients must ignore keys they do not know
///   (docs/PROTOCOL.md), which is how fields are added.
///
/// Bounds come from the constants the handlers check against, so the two cannot drift apart.
enum APISchemas {
    static let all: [(name: String, schema: JSONSchema)] = [
        ("Error", errorBody),
        ("Status", status),
        ("CommentRequest", commentRequest),
        ("CommentReceipt", commentReceipt),
        ("Comment", comment),
        ("History", history),
        ("RoomStats", roomStats),
        ("Rooms", rooms),
        ("BanRequest", banRequest),
        ("Ban", ban),
        ("Unban", unban),
        ("Retraction", retraction),
        ("Settings", settings),
        ("SettingsUpdate", settingsUpdate),
        ("WordsRequest", wordsRequest),
        ("Words", words),
        ("NoticeRequest", noticeRequest),
        ("Notice", notice),
        ("Broadcast", broadcast),
        ("LikeRequest", likeRequest),
        ("Like", like),
        ("ReportRequest", reportRequest),
        ("ReportFiled", reportFiled),
        ("ReportQueue", reportQueue),
        ("ReportActionRequest", reportActionRequest),
        ("ReportResolved", reportResolved),
        ("Stream", stream),
        ("Replay", replay),
        ("VideoCommentRequest", videoCommentRequest),
        ("VideoCommentReceipt", videoCommentReceipt),
        ("Segment", segment),
        ("VideoLike", like),
        ("VideoRemoval", videoRemoval),
        ("PublishRequest", publishRequest),
        ("Published", published),
        ("Imported", imported),
        ("PoolComments", .array(videoComment)),
        ("AdminStats", adminStats),
    ]

    // MARK: Building blocks (inlined where used, not named in the document)

    /// `RoomID`: 1–64 bytes of `[A-Za-z0-9_-]` (all ASCII, so bytes are characters).
    static let roomID: JSONSchema = .string(minLength: 1, maxLength: RoomID.maxLength, pattern: "^[A-Za-z0-9_-]+$")
    /// `VideoID` takes the room id's rule.
    static let videoID: JSONSchema = roomID
    /// The id of a comment or notice the server made (`RandomID`: a lowercase version 4 UUID; an
    /// archive written before `RandomID` holds Foundation's upper-case ones, also UUIDs). An id
    /// echoed from a path (a retraction, a like) is one only once it matched a stored id byte for
    /// byte, so it is one of these too.
    private static let commentID: JSONSchema = .string(format: "uuid")
    /// A stored item's seq: stores number from 1 (`value + 1` must fit a signed 64-bit integer).
    private static let storedSeq: JSONSchema = .integer(minimum: 1, maximum: Int64(clamping: ClientNumber.maxSeq))
    /// A room's latest seq: 0 before anything was posted.
    private static let lastSeq: JSONSchema = .integer(minimum: 0)
    /// Milliseconds since the Unix epoch.
    private static let milliseconds: JSONSchema = .integer()
    /// A colour as a comment carries it: validation lower-cases it (`CommentValidator`).
    private static let storedColor: JSONSchema = .string(pattern: "^#[0-9a-f]{6}$")
    private static let modes: JSONSchema = .enumeration(CommentMode.allCases.map(\.rawValue))
    /// `normal` is never written: a comment without `size` is normal.
    private static let drawnSizes: JSONSchema = .enumeration(CommentSize.allCases.filter { $0 != .normal }.map(\.rawValue))
    /// A stored text: trimmed and not empty (masked words become `***`). Its longest is a count of
    /// grapheme clusters (`--max-text-length`, 200 by default), which JSON Schema cannot express.
    private static let storedText: JSONSchema = .string(minLength: 1)

    /// `CommentAuthor`: `role` only for the room's staff (a token that may moderate there), never `viewer`.
    private static let author: JSONSchema = .object(
        [
            ("id", .string()),
            ("name", .string()),
            ("role", .enumeration(["streamer", "moderator", "admin"])),
        ], required: ["id", "name"])

    /// A room's own rate as `RateLimit.description` writes it: whole numbers bare, others as Swift
    /// prints a `Double`, never with an exponent in a room's bounds (0.001/s to 100,000/s, burst 1
    /// to 1,000,000).
    private static let writtenRate: JSONSchema = .string(pattern: #"^[0-9]+(\.[0-9]+)?/[0-9]+(\.[0-9]+)?$"#)
    private static let slowModeSeconds: JSONSchema = .integer(minimum: 0, maximum: Int64(clamping: RoomSettings.maxSlowModeSeconds))
    private static let displayPerSecond: JSONSchema = .integer(minimum: 1, maximum: Int64(clamping: RoomSettings.maxDisplayPerSecond))
    private static let reportsToHide: JSONSchema = .integer(
        minimum: Int64(clamping: RoomSettings.reportsToHideRange.lowerBound), maximum: Int64(clamping: RoomSettings.reportsToHideRange.upperBound))
    private static let styleAccess: JSONSchema = .enumeration(["everyone", "staff"])
    private static let banSeconds: JSONSchema = .integer(
        minimum: Int64(clamping: BanLength.secondsRange.lowerBound), maximum: Int64(clamping: BanLength.secondsRange.upperBound))
    /// A ban's user as `ModerationAPI.ban` checks it: 1 to 256 UTF-8 bytes. JSON Schema counts
    /// characters, of which 256 bytes hold at most 256: the schema never refuses a user the server
    /// takes, nor lets through a longer one than it echoes.
    private static let bannedUser: JSONSchema = .string(minLength: 1, maxLength: 256)

    // MARK: Service

    /// `{"error": {"code", "message", "requestId"}}`. `requestId` (the request's `X-Request-Id`,
    /// given or made) is in every error answering a request; only the `429 too_many_connections`
    /// and `503 node_full` written as a connection over the per-address or the node's cap opens,
    /// before any request is read (`ConnectionRefusal`), have none.
    private static let errorBody: JSONSchema = .object(
        [
            (
                "error",
                .object(
                    [
                        ("code", .string(minLength: 1)),
                        ("message", .string()),
                        ("requestId", .string(minLength: 1, maxLength: RequestHeaders.maxRequestIDBytes, pattern: "^[!-~]+$")),
                    ], required: ["code", "message"])
            )
        ], required: ["error"])

    /// `/healthz` answers `ok`, `/readyz` `ready` (a node not ready answers `503 not_ready` instead).
    private static let status: JSONSchema = .object([("status", .enumeration(["ok", "ready"]))], required: ["status"])

    // MARK: Comments

    /// The fields of a comment post (`CommentRequest.decode`, then `CommentValidator`). `text` is
    /// required and trimmed; the server then refuses it empty, with control characters, or longer
    /// than `--max-text-length` grapheme clusters (200 by default) — a count JSON Schema has no
    /// word for, so only the emptiness shows here. `color` is any `#RRGGBB` (lower-cased when
    /// stored); a `null` field counts as absent.
    private static let commentRequestFields: [(String, JSONSchema)] = [
        ("text", .string(minLength: 1)),
        ("color", .nullable(.string(pattern: "^#[0-9A-Fa-f]{6}$"))),
        ("mode", .nullable(.enumeration(CommentMode.allCases.map(\.rawValue)))),
        ("size", .nullable(.enumeration(CommentSize.allCases.map(\.rawValue)))),
        // `true` only from the room's staff (`403 pool_not_allowed` otherwise).
        ("pool", .nullable(.boolean)),
    ]

    private static let commentRequest: JSONSchema = .object(commentRequestFields, required: ["text"])

    /// The 201 of a post (`CommentReceipt`); a retry with the same `Idempotency-Key` gets the same.
    private static let commentReceipt: JSONSchema = .object(
        [("id", commentID), ("room", roomID), ("seq", storedSeq), ("ts", milliseconds)],
        required: ["id", "room", "seq", "ts"])

    /// An item of a room's history, as stored (`EncodedComment`) and as the HTTP API, replay and
    /// wire format 1 of the WebSocket and event streams carry it. History holds notices as well
    /// as comments: a notice has `"kind": "notice"` and its `payload` instead of `text`, `color`
    /// and `mode` (`Notice.unnumberedJSON`), so those are not required. `size` and `pool` are left
    /// out for a normal-sized, non-pool comment (`pool` is only ever `true`). Wire format 2 (`?v=2`
    /// on a socket or stream, never over plain HTTP) further leaves out `room`, and `color` and
    /// `mode` at their defaults.
    /// What a stored comment carries, live or in a video's pool: its author, text, style and time,
    /// and the weight it was accepted with (`CommentWeight`; absent on one stored before weights were).
    private static let stored: [(String, JSONSchema)] = [
        ("user", author), ("text", storedText), ("color", storedColor), ("mode", modes), ("ts", milliseconds),
        ("size", drawnSizes), ("pool", .boolean),
        ("weight", .integer(minimum: Int64(clamping: CommentWeight.range.lowerBound), maximum: Int64(clamping: CommentWeight.range.upperBound))),
    ]

    private static let comment: JSONSchema = .object(
        [
            ("seq", storedSeq),
            ("id", commentID),
            ("room", roomID),
        ] + stored + [
            ("kind", .enumeration(["notice"])),
            ("payload", .map(.any)),
        ], required: ["seq", "id", "room", "user", "ts"])

    /// `GET /v1/rooms/{room}/comments` (`HistoryAPI.body`); `limit` is at most
    /// `IngestConfiguration.maxHistoryLimit`, which no flag changes. `epoch` is 0 for a room with
    /// no comment yet, else the ms time its numbering began.
    private static let history: JSONSchema = .object(
        [
            ("room", roomID),
            ("comments", .array(.ref("Comment"), maxItems: IngestConfiguration().maxHistoryLimit)),
            ("lastSeq", lastSeq),
            ("epoch", .integer(minimum: 0)),
        ], required: ["room", "comments", "lastSeq", "epoch"])

    // MARK: Rooms

    /// `RoomStats`: viewers across the deployment, the latest seq, comments per second over the
    /// last 10 s (rounded to 0.1).
    private static let roomStats: JSONSchema = .object(
        [("room", roomID), ("online", .integer(minimum: 0)), ("lastSeq", lastSeq), ("commentsPerSecond", .number(minimum: 0))],
        required: ["room", "online", "lastSeq", "commentsPerSecond"])

    /// `GET /v1/rooms?top=N`: at most `RoomsAPI.maxTop` rooms, most viewers first.
    private static let rooms: JSONSchema = .object(
        [("rooms", .array(.ref("RoomStats"), maxItems: RoomsAPI.maxTop))], required: ["rooms"])

    // MARK: Moderation

    /// `POST /v1/rooms/{room}/bans`: `seconds` a whole number from 1 s to 30 days (`BanLength`).
    private static let banRequest: JSONSchema = .object(
        [("user", bannedUser), ("seconds", banSeconds)], required: ["user", "seconds"])

    /// The ban made: `bannedSeconds` is the request's `seconds`.
    private static let ban: JSONSchema = .object(
        [("room", roomID), ("user", bannedUser), ("bannedSeconds", banSeconds)], required: ["room", "user", "bannedSeconds"])

    /// `DELETE …/bans/{user}`: `user` is the path's, percent-decoded and not length-checked (a
    /// user never banned is "unbanned" all the same), and `bannedSeconds` always 0.
    private static let unban: JSONSchema = .object(
        [("room", roomID), ("user", .string(minLength: 1)), ("bannedSeconds", .integer(minimum: 0, maximum: 0))],
        required: ["room", "user", "bannedSeconds"])

    /// `DELETE /v1/rooms/{room}/comments/{id}`: the comment (or notice) taken back, and the seq it held.
    private static let retraction: JSONSchema = .object(
        [("room", roomID), ("id", commentID), ("seq", storedSeq)], required: ["room", "id", "seq"])

    /// `RoomSettings` as encoded: `rate`, `displayPerSecond` and `mergeRepeats` are left out when
    /// unset (no room rate, no display budget, the node's `--enable-merge-repeats`).
    private static let settings: JSONSchema = .object(
        [
            ("slowModeSeconds", slowModeSeconds),
            ("rate", writtenRate),
            ("displayPerSecond", displayPerSecond),
            ("stylesFor", styleAccess),
            ("mergeRepeats", .boolean),
            ("reportsToHide", reportsToHide),
        ], required: ["slowModeSeconds", "stylesFor", "reportsToHide"])

    /// The body of both `PUT` and `PATCH …/settings` (`RoomSettings.Change`: the two are one
    /// handler, and both merge). A field left out keeps its value; `null` clears `rate`,
    /// `displayPerSecond` or `mergeRepeats`, while `slowModeSeconds` and `stylesFor` must be values
    /// (`null` is `400 invalid_<field>`). `rate` is `RATE/BURST` or a bare `RATE`, each a number
    /// Swift's `Double` parses, in 0.001/s–100,000/s and a burst of 1–1,000,000: a range on
    /// numbers inside a string, which a pattern cannot hold, so only its type shows here.
    private static let settingsUpdate: JSONSchema = .object(
        [
            ("slowModeSeconds", slowModeSeconds),
            ("rate", .nullable(.string())),
            ("displayPerSecond", .nullable(displayPerSecond)),
            ("stylesFor", styleAccess),
            ("mergeRepeats", .nullable(.boolean)),
            ("reportsToHide", reportsToHide),
        ])

    /// `PUT /v1/words`: the node's whole new list, at most `ModerationAPI.maxWords` words (the 4 KiB
    /// body limit is reached long before).
    private static let wordsRequest: JSONSchema = .object(
        [("words", .array(.string(), maxItems: ModerationAPI.maxWords))], required: ["words"])

    /// How many words the list now holds.
    private static let words: JSONSchema = .object(
        [("words", .integer(minimum: 0, maximum: Int64(clamping: ModerationAPI.maxWords)))], required: ["words"])

    // MARK: Notices

    /// The notice's payload is the whole body: any JSON object (`Notice.canonicalPayload`) of at
    /// most `Notice.maxPayloadBytes` as compact JSON with sorted keys (`400 invalid_payload` past
    /// it). The same body serves `POST /v1/rooms/{room}/notices` and `POST /v1/broadcast`.
    private static let noticeRequest: JSONSchema = .map(.any)

    /// `AcceptedNotice`: the notice as its room numbered it.
    private static let notice: JSONSchema = .object(
        [("id", commentID), ("room", roomID), ("seq", storedSeq), ("ts", milliseconds)],
        required: ["id", "room", "seq", "ts"])

    /// One notice per room that had viewers at the time, in no set order; empty when none had.
    private static let broadcast: JSONSchema = .object([("notices", .array(.ref("Notice")))], required: ["notices"])

    // MARK: Likes

    /// `POST /v1/rooms/{room}/comments/{id}/likes`: the comment's seq (`LikesAPI`). A body that is
    /// not this shape, not even JSON, is `400 invalid_seq`.
    private static let likeRequest: JSONSchema = .object(
        [("seq", .integer(minimum: Int64(clamping: LikesAPI.seqRange.lowerBound), maximum: Int64(clamping: LikesAPI.seqRange.upperBound)))],
        required: ["seq"])

    /// `LikesAPI.Answer`, for live and video comments alike: the count after this user's like, so
    /// at least 1.
    private static let like: JSONSchema = .object(
        [("id", commentID), ("seq", storedSeq), ("likes", .integer(minimum: 1))], required: ["id", "seq", "likes"])

    // MARK: Reports

    /// `ReportRequest`: a reason from the fixed list, optional text, and a live comment's seq when
    /// the client has it (found then without a search of history).
    private static let reportRequest: JSONSchema = .object(
        [
            ("reason", .enumeration(ReportReason.allCases.map(\.rawValue))),
            ("text", .nullable(.string(maxLength: ReportBounds.textBytes))),
            ("seq", .nullable(.integer(minimum: Int64(clamping: ReportRequest.seqRange.lowerBound), maximum: Int64(clamping: ReportRequest.seqRange.upperBound)))),
        ], required: ["reason"])

    private static let reporters: JSONSchema = .integer(minimum: 1, maximum: Int64(clamping: ReportBounds.reportsPerComment))

    /// `ReportsAPI.Filed`: distinct reporters so far, and whether the comment is hidden pending review.
    private static let reportFiled: JSONSchema = .object(
        [("id", commentID), ("seq", storedSeq), ("reporters", reporters), ("hidden", .boolean)], required: ["id", "seq", "reporters", "hidden"])

    /// `ReportsAPI.Queue`: `room` or `video`, and the comments, most reported first. Each report
    /// shows its reason, text and time, not who filed it.
    private static let reportQueue: JSONSchema = .object(
        [
            ("room", roomID),
            ("video", videoID),
            ("comments", .array(.object(
                [
                    ("id", commentID), ("seq", storedSeq), ("user", author), ("text", .string()), ("offsetMs", .integer(minimum: 0)),
                    ("reporters", reporters), ("hidden", .boolean), ("firstReportedAt", milliseconds),
                    ("reports", .array(.object(
                        [("reason", .enumeration(ReportReason.allCases.map(\.rawValue))), ("text", .string(maxLength: ReportBounds.textBytes)), ("ts", milliseconds)],
                        required: ["reason", "ts"]), maxItems: ReportBounds.reportsPerComment)),
                ], required: ["id", "seq", "user", "text", "reporters", "hidden", "firstReportedAt", "reports"]), maxItems: CommentReports.maxListed)),
        ], required: ["comments"])

    /// `ReportsAPI.ActionRequest`: `seconds` is the ban's length for `ban` (default a day).
    private static let reportActionRequest: JSONSchema = .object(
        [("action", .enumeration(ReportAction.allCases.map(\.rawValue))), ("seconds", banSeconds)], required: ["action"])

    /// `ReportsAPI.Resolved`: whether this action took the comment out, and whom it banned.
    private static let reportResolved: JSONSchema = .object(
        [("id", commentID), ("action", .enumeration(ReportAction.allCases.map(\.rawValue))), ("removed", .boolean), ("banned", bannedUser)],
        required: ["id", "action", "removed"])

    // MARK: Streams and replay

    /// `StreamRecord`. `POST …/live` answers a live stream (no `endedAt`); `DELETE …/live` the
    /// stream it ended (with `endedAt`).
    private static let stream: JSONSchema = .object(
        [("room", roomID), ("stream", .integer(minimum: 1)), ("startedAt", milliseconds), ("endedAt", milliseconds)],
        required: ["room", "stream", "startedAt"])

    /// `RoomsAPI.replayBody`: the stream (no `endedAt` while it is live) and its comments (notices
    /// too: the archive keeps them), each at its offset in ms from the stream's start, in offset
    /// order; at most `RoomsAPI.maxReplayLimit` (`?limit=`).
    private static let replay: JSONSchema = .object(
        [
            ("room", roomID),
            ("stream", .integer(minimum: 1)),
            ("startedAt", milliseconds),
            ("endedAt", milliseconds),
            (
                "comments",
                .array(
                    .object([("offset", .integer(minimum: 0)), ("comment", .ref("Comment"))], required: ["offset", "comment"]),
                    maxItems: RoomsAPI.maxReplayLimit)
            ),
        ], required: ["room", "stream", "startedAt", "comments"])

    // MARK: Videos

    /// A video comment's offset: 0 to a century in ms (`ClientNumber.maxOffsetMilliseconds`).
    private static let offsetField: (String, JSONSchema) = (
        "offsetMs", .integer(minimum: 0, maximum: Int64(clamping: ClientNumber.maxOffsetMilliseconds))
    )

    /// A live comment's fields plus `offsetMs` (`VideosAPI.post` decodes the body twice).
    private static let videoCommentRequest: JSONSchema = .object(commentRequestFields + [offsetField], required: ["text", "offsetMs"])

    /// The 201 of a video comment; a retry with the same `Idempotency-Key` gets the same.
    private static let videoCommentReceipt: JSONSchema = .object(
        [("id", commentID), ("video", videoID), ("seq", storedSeq), offsetField, ("ts", milliseconds)],
        required: ["id", "video", "seq", "offsetMs", "ts"])

    /// `VideoComment` as a segment serves it. A published stream's comments keep their author,
    /// style and `ts` (when posted live); notices are never published. `likes` is left out until
    /// someone likes it.
    private static let videoComment: JSONSchema = .object(
        [
            ("seq", storedSeq),
            ("id", commentID),
            ("video", videoID),
            ("offsetMs", .integer(minimum: 0)),
        ] + stored + [
            ("likes", .integer(minimum: 1)),
        ], required: ["seq", "id", "video", "offsetMs", "user", "text", "color", "mode", "ts"])

    /// `GET /v1/videos/{video}/segments/{n}` (200; a 304 has no body): offsets `[from, to)`, six
    /// minutes. Its comments are capped by `--video-segment-cap` (3000 by default), a flag, so no
    /// `maxItems`.
    private static let segment: JSONSchema = .object(
        [
            ("video", videoID),
            ("segment", .integer(minimum: 0, maximum: Int64(clamping: VideoSegment.numbers.upperBound))),
            ("from", .integer(minimum: 0)),
            ("to", .integer(minimum: VideoSegment.milliseconds)),
            ("comments", .array(videoComment)),
        ], required: ["video", "segment", "from", "to", "comments"])

    /// `DELETE /v1/videos/{video}/comments/{id}`: the comment taken out of the pool.
    private static let videoRemoval: JSONSchema = .object(
        [("video", videoID), ("id", commentID), ("seq", storedSeq)], required: ["video", "id", "seq"])

    /// `POST /v1/videos/{video}/publish`: a malformed `room` is `400 invalid_room`; `stream`
    /// absent or `null` means the room's latest.
    private static let publishRequest: JSONSchema = .object(
        [("room", roomID), ("stream", .nullable(.integer(minimum: 1, maximum: Int64(clamping: ClientNumber.maxSeq))))],
        required: ["room"])

    /// What an import did: comments read, added (not those the pool had), and left out with the
    /// line and why.
    private static let imported: JSONSchema = .object(
        [
            ("video", videoID),
            ("format", .enumeration(["bilibili-xml"])),
            ("read", .integer(minimum: 0)),
            ("added", .integer(minimum: 0)),
            ("skipped", .array(.object([("line", .integer(minimum: 0)), ("reason", .string())], required: ["line", "reason"]))),
        ], required: ["video", "format", "read", "added", "skipped"])

    /// Only an ended stream is published (`409 stream_live` otherwise), so `endedAt` is always
    /// there. `added` is 0 for a stream published before.
    private static let published: JSONSchema = .object(
        [
            ("video", videoID),
            ("room", roomID),
            ("stream", .integer(minimum: 1)),
            ("startedAt", milliseconds),
            ("endedAt", milliseconds),
            ("added", .integer(minimum: 0)),
        ], required: ["video", "room", "stream", "startedAt", "endedAt", "added"])

    // MARK: Dashboard

    /// A metric's series (`name` or `name{label="value"}`) and its value; histogram buckets are
    /// left out, their `_count` and `_sum` kept.
    private static let metrics: JSONSchema = .map(.number())

    /// `AdminAPI.Stats`. Each room's `slowModeSeconds` is left out when its settings could not be
    /// read, `rate` and `displayPerSecond` also when unset. `history` is there only with
    /// `?since=`: the node's samples after it, oldest first, one a second for at most 15 minutes
    /// (`StatsHistory.defaultCapacity`).
    private static let adminStats: JSONSchema = .object(
        [
            ("node", .string()),
            ("at", milliseconds),
            ("metrics", metrics),
            (
                "rooms",
                .array(
                    .object(
                        [
                            ("room", roomID),
                            ("online", .integer(minimum: 0)),
                            ("lastSeq", lastSeq),
                            ("commentsPerSecond", .number(minimum: 0)),
                            ("slowModeSeconds", slowModeSeconds),
                            ("rate", writtenRate),
                            ("displayPerSecond", displayPerSecond),
                        ], required: ["room", "online", "lastSeq", "commentsPerSecond"]),
                    maxItems: AdminAPI.topRooms)
            ),
            (
                "nodes",
                .array(
                    .object(
                        [("node", .string()), ("viewers", .integer(minimum: 0)), ("rooms", .integer(minimum: 0))],
                        required: ["node", "viewers", "rooms"]))
            ),
            (
                "history",
                .array(
                    .object([("at", milliseconds), ("metrics", metrics)], required: ["at", "metrics"]),
                    maxItems: StatsHistory.defaultCapacity)
            ),
        ], required: ["node", "at", "metrics", "rooms", "nodes"])
}
