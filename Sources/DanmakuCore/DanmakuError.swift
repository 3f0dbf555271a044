// Danmaku — a live-stream bullet-comment service.

/// An error a client can act on: a stable machine-readable `code`, an HTTP status and a message.
///
/// Serialized as `{"error": {"code": "...", "message": "..."}}` over HTTP and as
/// `{"type": "error", "code": "...", "message": "..."}` over WebSocket.
public struct DanmakuError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Stable, snake_case code (`rate_limited`, `invalid_json`, …).
    public var code: String
    /// HTTP status that carries this error.
    public var status: Int
    /// Human-readable explanation.
    public var message: String
    /// Seconds after which a retry may succeed (sent as `Retry-After`), for 429 and 503.
    public var retryAfterSeconds: Int?
    /// What went wrong inside (a Redis reply, an SQLite message), for the server's log only: a
    /// client is never sent it.
    public var internalDetail: String?

    public init(code: String, status: Int, message: String, retryAfterSeconds: Int? = nil, internalDetail: String? = nil) {
        self.code = code
        self.status = status
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
        self.internalDetail = internalDetail
    }

    public var description: String { "\(status) \(code): \(message)" + (internalDetail.map { " (\($0))" } ?? "") }
}

extension DanmakuError {
    /// The body was not valid JSON (or not valid UTF-8).
    public static func invalidJSON(_ detail: String) -> Self {
        .init(code: "invalid_json", status: 400, message: "request body is not valid JSON: \(detail)")
    }
    /// A field is missing, has the wrong type or an invalid value.
    public static func invalidField(_ field: String, _ detail: String) -> Self {
        .init(code: "invalid_\(field)", status: 400, message: detail)
    }
    /// The room id in the path is malformed.
    public static let invalidRoom = DanmakuError(
        code: "invalid_room", status: 400,
        message: "room id must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'")
    public static let invalidVideo = DanmakuError(
        code: "invalid_video", status: 400,
        message: "video id must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'")
    /// The text is longer than allowed.
    public static func textTooLong(max: Int) -> Self {
        .init(code: "text_too_long", status: 413, message: "text must be at most \(max) characters")
    }
    /// The request body is larger than allowed.
    public static func bodyTooLarge(max: Int) -> Self {
        .init(code: "body_too_large", status: 413, message: "request body must be at most \(max) bytes")
    }
    /// An imported file that cannot be read: the line (0 for the file as a whole) and the reason.
    /// Nothing of it was imported.
    public static func invalidFile(line: Int, reason: String) -> Self {
        .init(code: "invalid_file", status: 400, message: line > 0 ? "line \(line): \(reason)" : reason)
    }
    /// A file body (an import) while the node already reads as many as it holds at once: they
    /// are large, so their number is bounded node-wide. Nothing was read; try again shortly.
    public static let filesBusy = DanmakuError(
        code: "files_busy", status: 503, message: "the node is reading as many files as it takes at once; retry shortly",
        retryAfterSeconds: 5)
    /// An imported file over its bound (bytes or comments); nothing of it was imported.
    public static func fileTooLarge(line: Int, reason: String) -> Self {
        .init(code: "file_too_large", status: 413, message: line > 0 ? "line \(line): \(reason)" : reason)
    }
    /// The text contains a blocked word and the filter policy is `reject`.
    public static let filtered = DanmakuError(
        code: "filtered", status: 422, message: "comment contains a blocked word")
    /// The same user posted the same text moments ago.
    public static let duplicate = DanmakuError(
        code: "duplicate", status: 409, message: "the same comment was posted moments ago")
    /// A user's second report of one comment: each user reports a comment once.
    public static let alreadyReported = DanmakuError(
        code: "already_reported", status: 409, message: "you have reported this comment already")
    /// A report of a comment not yet in the queue, while the queue holds as many comments as it
    /// may and every one is hidden pending review (none may be pushed out): staff must act first.
    public static func reportQueueFull(max: Int) -> Self {
        .init(code: "report_queue_full", status: 409,
              message: "the room's queue of reported comments holds its most (\(max)), all hidden pending review; try again later")
    }
    /// A rate limit was exceeded; `scope` is `user`, `ip` or `room`.
    public static func rateLimited(scope: String, retryAfter: Int) -> Self {
        .init(
            code: "rate_limited", status: 429,
            message: "too many comments (\(scope) limit); retry after \(retryAfter)s",
            retryAfterSeconds: retryAfter)
    }
    /// The bus or store could not serve the request; a comment refused so was not published.
    /// `detail` (an internal error's text) goes to the log, not to the client.
    public static func busUnavailable(_ detail: String) -> Self {
        .init(code: "bus_unavailable", status: 503, message: "the comment store is unavailable; retry shortly",
              retryAfterSeconds: 1, internalDetail: detail)
    }
    /// The store did not confirm a comment in time: it may be stored. A retry of the same text
    /// within the duplicate window is refused as a duplicate rather than stored twice.
    public static func storeOutcomeUnknown(_ detail: String) -> Self {
        .init(code: "bus_unavailable", status: 503,
              message: "the comment store did not confirm in time; the comment may have been stored (a retry of the same text is not stored twice)",
              retryAfterSeconds: 1, internalDetail: detail)
    }
    /// An author's recall after the recall window.
    public static func recallExpired(seconds: Int) -> Self {
        .init(code: "recall_expired", status: 403, message: "an author may take a comment back within \(seconds) s of posting it")
    }
    /// A retraction by someone who neither wrote the comment nor may moderate the room.
    public static let notYourComment = DanmakuError(
        code: "forbidden", status: 403, message: "only the comment's author (within the recall window) or a moderator may take it back")
    /// A report of the reporter's own comment (a recall takes it back).
    public static let ownComment = DanmakuError(code: "forbidden", status: 403, message: "you cannot report your own comment; recall it instead")
    /// Unknown path.
    public static let notFound = DanmakuError(code: "not_found", status: 404, message: "no such resource")
    /// Known path, wrong method.
    public static let methodNotAllowed = DanmakuError(
        code: "method_not_allowed", status: 405, message: "method not allowed on this resource")
    /// A body that is not JSON.
    public static let unsupportedMediaType = DanmakuError(
        code: "unsupported_media_type", status: 415, message: "Content-Type must be application/json")
    /// A plain GET on the WebSocket endpoint.
    public static let upgradeRequired = DanmakuError(
        code: "upgrade_required", status: 426, message: "this endpoint needs a WebSocket upgrade")
    /// A WebSocket upgrade for a version other than 13.
    public static let unsupportedWebSocketVersion = DanmakuError(
        code: "unsupported_websocket_version", status: 426, message: "only WebSocket version 13 is supported")
    /// A WebSocket upgrade without a usable `Sec-WebSocket-Key`.
    public static let invalidWebSocketKey = DanmakuError(
        code: "invalid_websocket_key", status: 400, message: "Sec-WebSocket-Key must be one base64-encoded 16-byte value")
    /// The bytes were not a valid HTTP/1.1 request.
    public static let malformedRequest = DanmakuError(
        code: "malformed_request", status: 400, message: "request is not valid HTTP/1.1")
    /// The request line and headers together are over the configured size.
    public static func headersTooLarge(max: Int) -> DanmakuError {
        .init(code: "headers_too_large", status: 431, message: "request line and headers must be at most \(max) bytes")
    }
    /// The node does not run the role the request needs (in a cluster, ask another node).
    public static func roleNotServed(_ role: String) -> DanmakuError {
        .init(code: "role_not_served", status: 404, message: "this node does not run the \(role) role")
    }
    /// Posting needs a token and none was sent.
    public static let missingToken = DanmakuError(
        code: "missing_token", status: 401, message: "posting needs a token: send Authorization: Bearer TOKEN (WebSocket: ?token=TOKEN)")
    /// The token is malformed, wrongly signed, of another algorithm, or its claims are not ours.
    public static func invalidToken(_ why: String) -> DanmakuError {
        .init(code: "invalid_token", status: 401, message: "token rejected: \(why)")
    }
    /// The token's `exp` has passed.
    public static let tokenExpired = DanmakuError(code: "token_expired", status: 401, message: "token expired")
    /// The token's `rooms` scope does not include the room.
    public static let roomNotAllowed = DanmakuError(
        code: "room_not_allowed", status: 403, message: "the token does not allow posting in this room")
    /// `GET /readyz` while the node should not get traffic.
    public static func notReady(_ reason: String) -> DanmakuError {
        .init(code: "not_ready", status: 503, message: reason, retryAfterSeconds: 1)
    }
    /// The user is banned from the room.
    public static func banned(retryAfter: Int) -> DanmakuError {
        .init(code: "banned", status: 403, message: "you are banned from this room", retryAfterSeconds: retryAfter)
    }
    /// The room is in slow mode and the user posted too recently.
    public static func slowMode(retryAfter: Int) -> DanmakuError {
        .init(code: "slow_mode", status: 429, message: "this room is in slow mode", retryAfterSeconds: retryAfter)
    }
    /// A `pool` (subtitle or special) comment from a viewer.
    public static let styleNotAllowed = DanmakuError(
        code: "style_not_allowed", status: 403,
        message: "in this room only the streamer, moderators and admins may post coloured, sized or non-scrolling comments")

    public static let poolNotAllowed = DanmakuError(
        code: "pool_not_allowed", status: 403, message: "only the room's streamer, moderators and admins may post pool comments")
    /// The token may not moderate here.
    public static let notAModerator = DanmakuError(
        code: "forbidden", status: 403, message: "moderating needs an admin or moderator token, or the room's streamer")
    /// Moderation in open (development) mode, where nobody can prove who they are.
    public static let moderationNeedsTokens = DanmakuError(
        code: "moderation_needs_tokens", status: 403, message: "moderation needs tokens: start the server with --jwt-secret")
    /// The server is shutting down.
    /// A viewer message about a room the connection does not watch.
    public static func notWatching(_ room: String) -> DanmakuError {
        DanmakuError(code: "not_watching", status: 400, message: "this connection does not watch room '\(room)'; join it first")
    }

    /// A `join` for a room the connection already watches.
    public static func alreadyWatching(_ room: String) -> DanmakuError {
        DanmakuError(code: "already_watching", status: 409, message: "this connection already watches room '\(room)'")
    }

    /// A `join` past the per-connection room limit.
    public static func tooManyRooms(max: Int) -> DanmakuError {
        DanmakuError(code: "too_many_rooms", status: 429, message: "a connection may watch at most \(max) rooms; leave one first")
    }

    /// Replay on a server without an archive.
    public static let noArchive = DanmakuError(
        code: "no_archive", status: 404, message: "this server keeps no archive; start it with --data-dir to record streams")

    /// Replay of a room (or stream id) that has no recorded stream.
    public static let noStream = DanmakuError(
        code: "no_stream", status: 404, message: "no such stream; start one with POST /v1/rooms/{room}/live")

    /// A post to a video whose pool its staff have not started (by posting to it or publishing a
    /// stream as it).
    public static let noVideo = DanmakuError(
        code: "no_video", status: 404, message: "this video has no comment pool; its staff start one by posting to it or publishing a stream")

    /// A post or a publish that would take a video's pool past its limit.
    public static func videoFull(max: Int) -> DanmakuError {
        DanmakuError(code: "video_full", status: 409, message: "the video's comment pool holds its most comments (\(max))")
    }

    /// Publishing a stream that has not ended.
    public static let streamLive = DanmakuError(
        code: "stream_live", status: 409, message: "the stream is still live; end it with DELETE /v1/rooms/{room}/live first")

    /// Ending a stream when none is live.
    public static let notLive = DanmakuError(code: "not_live", status: 409, message: "the room has no live stream")

    public static let shuttingDown = DanmakuError(
        code: "shutting_down", status: 503, message: "server is shutting down", retryAfterSeconds: 1)

    /// An `Idempotency-Key` header that is empty, too long or not printable ASCII.
    public static func invalidIdempotencyKey(maxBytes: Int) -> DanmakuError {
        .init(code: "invalid_idempotency_key", status: 400,
              message: "Idempotency-Key must be 1-\(maxBytes) bytes of printable ASCII")
    }
    /// A retry while the first post with its `Idempotency-Key` has no answer yet.
    public static let idempotencyInProgress = DanmakuError(
        code: "idempotency_in_progress", status: 409,
        message: "a post with this Idempotency-Key is still being processed; retry shortly", retryAfterSeconds: 1)
    /// An `Idempotency-Key` used again for another request than the one it first came with.
    public static let idempotencyKeyReused = DanmakuError(
        code: "idempotency_key_reused", status: 422,
        message: "this Idempotency-Key was used for another request; use a new key for a new post")
    /// A retry of a post whose store did not confirm: it may be stored, so it is not stored again.
    public static let idempotencyOutcomeUnknown = DanmakuError(
        code: "idempotency_outcome_unknown", status: 409,
        message: "the first post with this Idempotency-Key may have been stored; it is not stored again (look for it in history)")
}
