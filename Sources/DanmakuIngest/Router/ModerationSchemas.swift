// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuLogic
/// The schemas of the staff's tools: bans, retractions, room settings, the blocked-word list,
/// and viewers' reports with the queue the staff acts on.
enum ModerationSchemas {
    /// The named schemas of this area, in the order the document lists them.
    static let named: [(name: String, schema: JSONSchema)] = [
        ("BanRequest", banRequest),
        ("Ban", ban),
        ("Unban", unban),
        ("Retraction", retraction),
        ("Settings", settings),
        ("SettingsUpdate", settingsUpdate),
        ("WordsRequest", wordsRequest),
        ("Words", words),
        ("ReportRequest", reportRequest),
        ("ReportFiled", reportFiled),
        ("ReportQueue", reportQueue),
        ("ReportActionRequest", reportActionRequest),
        ("ReportResolved", reportResolved),
    ]

    // MARK: Fields

    private static let reportsToHide: JSONSchema = .integer(
        minimum: Int64(clamping: RoomSettings.reportsToHideRange.lowerBound), maximum: Int64(clamping: RoomSettings.reportsToHideRange.upperBound))
    private static let styleAccess: JSONSchema = .enumeration(["everyone", "staff"])
    private static let banSeconds: JSONSchema = .integer(
        minimum: Int64(clamping: BanLength.secondsRange.lowerBound), maximum: Int64(clamping: BanLength.secondsRange.upperBound))
    /// A ban's user as `ModerationAPI.ban` checks it: 1 to 256 UTF-8 bytes. JSON Schema counts
    /// characters, of which 256 bytes hold at most 256: the schema never refuses a user the server
    /// takes, nor lets through a longer one than it echoes.
    private static let bannedUser: JSONSchema = .string(minLength: 1, maxLength: 256)

    // MARK: Moderation

    /// `POST /v1/rooms/{room}/bans`: `seconds` a whole number from 1 s to 30 days (`BanLength`).
    private static let banRequest: JSONSchema = .object(
        [("user", bannedUser), ("seconds", banSeconds)], required: ["user", "seconds"])

    /// The ban made: `bannedSeconds` is the request's `seconds`.
    private static let ban: JSONSchema = .object(
        [("room", FieldSchemas.roomID), ("user", bannedUser), ("bannedSeconds", banSeconds)], required: ["room", "user", "bannedSeconds"])

    /// `DELETE …/bans/{user}`: `user` is the path's, percent-decoded and not length-checked (a
    /// user never banned is "unbanned" all the same), and `bannedSeconds` always 0.
    private static let unban: JSONSchema = .object(
        [("room", FieldSchemas.roomID), ("user", .string(minLength: 1)), ("bannedSeconds", .integer(minimum: 0, maximum: 0))],
        required: ["room", "user", "bannedSeconds"])

    /// `DELETE /v1/rooms/{room}/comments/{id}`: the comment (or notice) taken back, and the seq it held.
    private static let retraction: JSONSchema = .object(
        [("room", FieldSchemas.roomID), ("id", FieldSchemas.commentID), ("seq", FieldSchemas.storedSeq)], required: ["room", "id", "seq"])

    /// `RoomSettings` as encoded: `rate`, `displayPerSecond` and `mergeRepeats` are left out when
    /// unset (no room rate, no display budget, the node's `--enable-merge-repeats`).
    private static let settings: JSONSchema = .object(
        [
            ("slowModeSeconds", FieldSchemas.slowModeSeconds),
            ("rate", FieldSchemas.writtenRate),
            ("displayPerSecond", FieldSchemas.displayPerSecond),
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
            ("slowModeSeconds", FieldSchemas.slowModeSeconds),
            ("rate", .nullable(.string())),
            ("displayPerSecond", .nullable(FieldSchemas.displayPerSecond)),
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
        [("id", FieldSchemas.commentID), ("seq", FieldSchemas.storedSeq), ("reporters", reporters), ("hidden", .boolean)], required: ["id", "seq", "reporters", "hidden"])

    /// `ReportsAPI.Queue`: `room` or `video`, and the comments, most reported first. Each report
    /// shows its reason, text and time, not who filed it.
    private static let reportQueue: JSONSchema = .object(
        [
            ("room", FieldSchemas.roomID),
            ("video", FieldSchemas.videoID),
            ("comments", .array(.object(
                [
                    ("id", FieldSchemas.commentID), ("seq", FieldSchemas.storedSeq), ("user", FieldSchemas.author), ("text", .string()), ("offsetMs", .integer(minimum: 0)),
                    ("reporters", reporters), ("hidden", .boolean), ("firstReportedAt", FieldSchemas.milliseconds),
                    ("reports", .array(.object(
                        [("reason", .enumeration(ReportReason.allCases.map(\.rawValue))), ("text", .string(maxLength: ReportBounds.textBytes)), ("ts", FieldSchemas.milliseconds)],
                        required: ["reason", "ts"]), maxItems: ReportBounds.reportsPerComment)),
                ], required: ["id", "seq", "user", "text", "reporters", "hidden", "firstReportedAt", "reports"]), maxItems: CommentReports.maxListed)),
        ], required: ["comments"])

    /// `ReportsAPI.ActionRequest`: `seconds` is the ban's length for `ban` (default a day).
    private static let reportActionRequest: JSONSchema = .object(
        [("action", .enumeration(ReportAction.allCases.map(\.rawValue))), ("seconds", banSeconds)], required: ["action"])

    /// `ReportsAPI.Resolved`: whether this action took the comment out, and whom it banned.
    private static let reportResolved: JSONSchema = .object(
        [("id", FieldSchemas.commentID), ("action", .enumeration(ReportAction.allCases.map(\.rawValue))), ("removed", .boolean), ("banned", bannedUser)],
        required: ["id", "action", "removed"])
}
