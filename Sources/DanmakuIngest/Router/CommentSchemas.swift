// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuLogic
/// The schemas of posting to a live room and reading it back: a comment, its receipt, the
/// history, notices and likes.
enum CommentSchemas {
    /// The named schemas of this area, in the order the document lists them.
    static let named: [(name: String, schema: JSONSchema)] = [
        ("CommentRequest", commentRequest),
        ("CommentReceipt", commentReceipt),
        ("Comment", comment),
        ("History", history),
        ("NoticeRequest", noticeRequest),
        ("Notice", notice),
        ("Broadcast", broadcast),
        ("LikeRequest", likeRequest),
        ("Like", like),
    ]

    // MARK: Fields of a stored comment

    /// A colour as a comment carries it: validation lower-cases it (`CommentValidator`).
    private static let storedColor: JSONSchema = .string(pattern: "^#[0-9a-f]{6}$")
    private static let modes: JSONSchema = .enumeration(CommentMode.allCases.map(\.rawValue))
    /// `normal` is never written: a comment without `size` is normal.
    private static let drawnSizes: JSONSchema = .enumeration(CommentSize.allCases.filter { $0 != .normal }.map(\.rawValue))
    /// A stored text: trimmed and not empty (masked words become `***`). Its longest is a count of
    /// grapheme clusters (`--max-text-length`, 200 by default), which JSON Schema cannot express.
    private static let storedText: JSONSchema = .string(minLength: 1)

    // MARK: Comments

    /// The fields of a comment post (`CommentRequest.decode`, then `CommentValidator`). `text` is
    /// required and trimmed; the server then refuses it empty, with control characters, or longer
    /// than `--max-text-length` grapheme clusters (200 by default) — a count JSON Schema has no
    /// word for, so only the emptiness shows here. `color` is any `#RRGGBB` (lower-cased when
    /// stored); a `null` field counts as absent.
    static let commentRequestFields: [(String, JSONSchema)] = [
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
        [("id", FieldSchemas.commentID), ("room", FieldSchemas.roomID), ("seq", FieldSchemas.storedSeq), ("ts", FieldSchemas.milliseconds)],
        required: ["id", "room", "seq", "ts"])

    /// What a stored comment carries, live or in a video's pool: its author, text, style and time,
    /// and the weight it was accepted with (`CommentWeight`; absent on one stored before weights were).
    static let stored: [(String, JSONSchema)] = [
        ("user", FieldSchemas.author), ("text", storedText), ("color", storedColor), ("mode", modes), ("ts", FieldSchemas.milliseconds),
        ("size", drawnSizes), ("pool", .boolean),
        ("weight", .integer(minimum: Int64(clamping: CommentWeight.range.lowerBound), maximum: Int64(clamping: CommentWeight.range.upperBound))),
    ]

    /// An item of a room's history, as stored (`EncodedComment`) and as the HTTP API, replay and
    /// wire format 1 of the WebSocket and event streams carry it. History holds notices as well
    /// as comments: a notice has `"kind": "notice"` and its `payload` instead of `text`, `color`
    /// and `mode` (`Notice.unnumberedJSON`), so those are not required. `size` and `pool` are left
    /// out for a normal-sized, non-pool comment (`pool` is only ever `true`). Wire format 2 (`?v=2`
    /// on a socket or stream, never over plain HTTP) further leaves out `room`, and `color` and
    /// `mode` at their defaults.

    private static let comment: JSONSchema = .object(
        [
            ("seq", FieldSchemas.storedSeq),
            ("id", FieldSchemas.commentID),
            ("room", FieldSchemas.roomID),
        ] + stored + [
            ("kind", .enumeration(["notice"])),
            ("payload", .map(.any)),
        ], required: ["seq", "id", "room", "user", "ts"])

    /// `GET /v1/rooms/{room}/comments` (`HistoryAPI.body`); `limit` is at most
    /// `IngestConfiguration.maxHistoryLimit`, which no flag changes. `epoch` is 0 for a room with
    /// no comment yet, else the ms time its numbering began.
    private static let history: JSONSchema = .object(
        [
            ("room", FieldSchemas.roomID),
            ("comments", .array(.ref("Comment"), maxItems: IngestConfiguration().maxHistoryLimit)),
            ("lastSeq", FieldSchemas.lastSeq),
            ("epoch", .integer(minimum: 0)),
        ], required: ["room", "comments", "lastSeq", "epoch"])

    // MARK: Notices

    /// The notice's payload is the whole body: any JSON object (`Notice.canonicalPayload`) of at
    /// most `Notice.maxPayloadBytes` as compact JSON with sorted keys (`400 invalid_payload` past
    /// it). The same body serves `POST /v1/rooms/{room}/notices` and `POST /v1/broadcast`.
    private static let noticeRequest: JSONSchema = .map(.any)

    /// `AcceptedNotice`: the notice as its room numbered it.
    private static let notice: JSONSchema = .object(
        [("id", FieldSchemas.commentID), ("room", FieldSchemas.roomID), ("seq", FieldSchemas.storedSeq), ("ts", FieldSchemas.milliseconds)],
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
    static let like: JSONSchema = .object(
        [("id", FieldSchemas.commentID), ("seq", FieldSchemas.storedSeq), ("likes", .integer(minimum: 1))], required: ["id", "seq", "likes"])
}
