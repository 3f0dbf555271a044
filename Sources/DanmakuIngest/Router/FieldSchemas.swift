// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuLogic
/// The field schemas more than one area of the API uses: inlined where used, never named in the
/// document. Each bound comes from the constant the handlers check against.
enum FieldSchemas {
    /// `RoomID`: 1–64 bytes of `[A-Za-z0-9_-]` (all ASCII, so bytes are characters).
    static let roomID: JSONSchema = .string(minLength: 1, maxLength: RoomID.maxLength, pattern: "^[A-Za-z0-9_-]+$")
    /// `VideoID` takes the room id's rule.
    static let videoID: JSONSchema = roomID
    /// The id of a comment or notice the server made (`RandomID`: a lowercase version 4 UUID; an
    /// archive written before `RandomID` holds Foundation's upper-case ones, also UUIDs). An id
    /// echoed from a path (a retraction, a like) is one only once it matched a stored id byte for
    /// byte, so it is one of these too.
    static let commentID: JSONSchema = .string(format: "uuid")
    /// A stored item's seq: stores number from 1 (`value + 1` must fit a signed 64-bit integer).
    static let storedSeq: JSONSchema = .integer(minimum: 1, maximum: Int64(clamping: ClientNumber.maxSeq))
    /// A room's latest seq: 0 before anything was posted.
    static let lastSeq: JSONSchema = .integer(minimum: 0)
    /// Milliseconds since the Unix epoch.
    static let milliseconds: JSONSchema = .integer()

    /// `CommentAuthor`: `role` only for the room's staff (a token that may moderate there), never `viewer`.
    static let author: JSONSchema = .object(
        [
            ("id", .string()),
            ("name", .string()),
            ("role", .enumeration(["streamer", "moderator", "admin"])),
        ], required: ["id", "name"])

    /// A room's own rate as `RateLimit.description` writes it: whole numbers bare, others as Swift
    /// prints a `Double`, never with an exponent in a room's bounds (0.001/s to 100,000/s, burst 1
    /// to 1,000,000).
    static let writtenRate: JSONSchema = .string(pattern: #"^[0-9]+(\.[0-9]+)?/[0-9]+(\.[0-9]+)?$"#)
    /// A room's slow mode, as `RoomSettings` bounds it.
    static let slowModeSeconds: JSONSchema = .integer(minimum: 0, maximum: Int64(clamping: RoomSettings.maxSlowModeSeconds))
    /// A room's display budget per second, as `RoomSettings` bounds it.
    static let displayPerSecond: JSONSchema = .integer(minimum: 1, maximum: Int64(clamping: RoomSettings.maxDisplayPerSecond))
}
