// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import DanmakuLogic
import NIOCore

/// The endpoints of a live room's comments: reading its history, watching it over a WebSocket or
/// an event stream, and posting comments, likes and notices.
enum CommentRoutes {
    /// Where a catch-up resumes: after `since` …
    static let since = APIParameter("since", .integer(minimum: 0, maximum: Int64(clamping: ClientNumber.maxSeq)), "Resume after this seq.")
    /// … of the numbering `epoch`.
    static let epoch = APIParameter("epoch", .integer(minimum: 0, maximum: Int64(clamping: ClientNumber.epochRange.upperBound)), "The numbering `since` belongs to.")
    /// The wire format a socket or stream is written in.
    static let wireFormat = APIParameter("v", .integer(minimum: Int64(clamping: WireFormat.versions.lowerBound), maximum: Int64(clamping: WireFormat.versions.upperBound)), "Wire format version (docs/PROTOCOL.md).")

    /// Reading the room: its history, and watching it live.
    static let reading: [APIEndpoint] = [
        APIEndpoint(
            .GET, "/v1/rooms/{room}/comments", readsStore: true, summary: "The room's history, oldest first.",
            query: [since, APIParameter("limit", .integer(minimum: 1, maximum: Int64(clamping: IngestConfiguration().maxHistoryLimit)), "At most this many (default \(IngestConfiguration().defaultHistoryLimit))."), epoch],
            answers: [.json(200, "The comments after `since` (the latest without it).", .ref("History"))],
            errors: [APIErrorSpec(400, "invalid_since", "invalid_limit", "invalid_epoch"), RouteCommons.readBudget, RouteCommons.storeDown],
            action: .onLoop { request in
                HistoryAPI(rooms: request.node.logic.rooms, configuration: request.node.configuration)
                    .answer(room: request.room, target: request.target, on: request.eventLoop).map { $0.map { .json($0) } }
            }),
        APIEndpoint(
            .GET, "/v1/rooms/{room}/ws", role: .push, summary: "Watch the room over a WebSocket (docs/PROTOCOL.md).",
            query: [since, epoch, wireFormat, APIParameter("token", .string(), "A viewer's token, for posting over the socket.")],
            answers: [.empty(101, "Switching to the WebSocket protocol.")],
            errors: [APIErrorSpec(400, "invalid_since", "invalid_epoch", "invalid_v", "invalid_websocket_key"),
                     APIErrorSpec(426, "upgrade_required", "unsupported_websocket_version")],
            action: .webSocket),
        APIEndpoint(
            .GET, "/v1/rooms/{room}/events", role: .push, summary: "Watch the room as Server-Sent Events (docs/PROTOCOL.md).",
            query: [since, epoch, wireFormat],
            headers: [APIParameter("Last-Event-ID", .string(), "`EPOCH-SEQ` of the last event seen, to resume after it.")],
            answers: [.eventStream("The room's messages as events: `data` is a message of the WebSocket, `id` is `EPOCH-SEQ`.")],
            errors: [APIErrorSpec(400, "invalid_since", "invalid_epoch", "invalid_v"), RouteCommons.readBudget],
            action: .eventStream),
    ]

    /// Posting to the room: comments, likes, notices, and a notice to every room.
    static let posting: [APIEndpoint] = [
        APIEndpoint(
            .POST, "/v1/rooms/{room}/comments", role: .ingest, principal: .poster, summary: "Post a comment.",
            headers: [RouteCommons.idempotencyKey], body: .json(.ref("CommentRequest")),
            answers: [.json(201, "Accepted: it is stored and on its way to every viewer.", .ref("CommentReceipt"))],
            links: [
                APILink("like", "POST", "/v1/rooms/{room}/comments/{id}/likes",
                        parameters: [("room", "$request.path.room"), ("id", "$response.body#/id")], body: [("seq", "$response.body#/seq")]),
                APILink("recall", "DELETE", "/v1/rooms/{room}/comments/{id}", parameters: [("room", "$request.path.room"), ("id", "$response.body#/id")]),
                APILink("history", "GET", "/v1/rooms/{room}/comments", parameters: [("room", "$request.path.room")]),
            ],
            errors: RouteCommons.bodyErrors + [
                APIErrorSpec(400, "invalid_text", "invalid_color", "invalid_mode", "invalid_size", "invalid_pool", "invalid_idempotency_key"), RouteCommons.tokenErrors,
                APIErrorSpec(403, "room_not_allowed", "banned", "pool_not_allowed", "style_not_allowed"),
                APIErrorSpec(409, "duplicate"), APIErrorSpec(413, "text_too_long"), APIErrorSpec(422, "filtered"),
                APIErrorSpec(429, "rate_limited", "slow_mode"), RouteCommons.storeDown,
            ] + RouteCommons.idempotencyErrors,
            action: .atOnceWhenItCan(PostsAPI.commentAtOnce, otherwise: { request in await PostsAPI(logic: request.node.logic).comment(request) })),
        APIEndpoint(
            .POST, "/v1/rooms/{room}/comments/{id}/likes", role: .ingest, principal: .poster, summary: "Like a comment (once per viewer).",
            body: .json(.ref("LikeRequest")), answers: [.json(200, "The comment's likes.", .ref("Like"))],
            errors: [APIErrorSpec(400, "invalid_seq"), APIErrorSpec(413, "body_too_large"), RouteCommons.tokenErrors, APIErrorSpec(403, "room_not_allowed"), APIErrorSpec(404, "not_found"),
                                  APIErrorSpec(429, "rate_limited"), RouteCommons.storeDown],
            action: .run { request in
                await LikesAPI(likes: request.node.logic.likes).like(
                    room: request.room, id: request.path.id ?? "", body: request.body, token: request.token,
                    clientAddress: request.clientAddress, on: request.eventLoop
                ).map { .json($0) }
            }),
        APIEndpoint(
            .POST, "/v1/rooms/{room}/notices", role: .ingest, principal: .staffOfRoom, summary: "Post a notice to the room.",
            headers: [RouteCommons.idempotencyKey], body: .json(.ref("NoticeRequest")), answers: [.json(201, "Accepted.", .ref("Notice"))],
            errors: RouteCommons.bodyErrors + RouteCommons.idempotencyErrors + [APIErrorSpec(400, "invalid_payload", "invalid_idempotency_key"), RouteCommons.tokenErrors, RouteCommons.forbidden, RouteCommons.storeDown],
            action: .run { request in await PostsAPI(logic: request.node.logic).notice(request) }),
        APIEndpoint(
            .POST, "/v1/broadcast", role: .ingest, principal: .admin, summary: "Post a notice to every room.",
            headers: [RouteCommons.idempotencyKey], body: .json(.ref("NoticeRequest")), answers: [.json(201, "Accepted in each room.", .ref("Broadcast"))],
            errors: RouteCommons.bodyErrors + RouteCommons.idempotencyErrors + [APIErrorSpec(400, "invalid_payload", "invalid_idempotency_key"), RouteCommons.tokenErrors, RouteCommons.forbidden, RouteCommons.storeDown],
            action: .run { request in await PostsAPI(logic: request.node.logic).broadcast(request) }),
    ]
}
