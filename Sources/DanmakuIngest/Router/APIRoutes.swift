// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuFormats
import DanmakuLogic
import NIOCore
import NIOHTTP1

/// Every endpoint of the HTTP API, declared once: adding an endpoint is one entry here and its
/// handler. The messages of the WebSocket and of event streams are in docs/PROTOCOL.md.
public enum APIRoutes {
    public static let all: [APIEndpoint] = service + pages + rooms + moderation + posts + videos + reports + admin

    // MARK: Parameters

    static let since = APIParameter("since", .integer(minimum: 0, maximum: Int64(clamping: ClientNumber.maxSeq)), "Resume after this seq.")
    static let epoch = APIParameter("epoch", .integer(minimum: 0, maximum: Int64(clamping: ClientNumber.epochRange.upperBound)), "The numbering `since` belongs to.")
    static let wireFormat = APIParameter("v", .integer(minimum: Int64(clamping: WireFormat.versions.lowerBound), maximum: Int64(clamping: WireFormat.versions.upperBound)), "Wire format version (docs/PROTOCOL.md).")
    static let idempotencyKey = APIParameter("Idempotency-Key", .string(minLength: 1, maxLength: IdempotencyKey.maxBytes, pattern: "^[!-~]+$"), "A retry with the same key gets the first answer.")
    static func json(_ schema: JSONSchema) -> APIBody { .json(schema) }

    // MARK: Answers and errors

    static let readBudget = APIErrorSpec(429, "rate_limited")
    static let tokenErrors = APIErrorSpec(401, "missing_token", "invalid_token", "token_expired")
    static let forbidden = APIErrorSpec(403, "forbidden", "moderation_needs_tokens")
    static let storeDown = APIErrorSpec(503, "bus_unavailable")
    /// Taking a comment back: its author within the recall window, or the room's staff.
    static let recallErrors = [APIErrorSpec(403, "forbidden", "recall_expired", "moderation_needs_tokens"), APIErrorSpec(404, "not_found")]
    /// A JSON body, its `Content-Type` checked (posts).
    static let bodyErrors = [APIErrorSpec(400, "invalid_json"), APIErrorSpec(413, "body_too_large"), APIErrorSpec(415, "unsupported_media_type")]
    /// A JSON body, read whatever its `Content-Type` (staff calls).
    static let staffBodyErrors = [APIErrorSpec(400, "invalid_json"), APIErrorSpec(413, "body_too_large")]
    static let idempotencyErrors = [APIErrorSpec(409, "idempotency_in_progress", "idempotency_outcome_unknown"), APIErrorSpec(422, "idempotency_key_reused")]

    // MARK: Health and metrics

    static let service: [APIEndpoint] = [
        APIEndpoint(
            .GET, "/healthz", summary: "Whether the process serves.", answers: [.json(200, "Serving.", .ref("Status"))],
            servesFullNodes: true, action: .onLoop { request in request.eventLoop.makeSucceededFuture(.success(.json(ByteBuffer(string: #"{"status":"ok"}"#)))) }),
        APIEndpoint(
            .GET, "/readyz", summary: "Whether the node should get traffic now.", answers: [.json(200, "Ready.", .ref("Status"))],
            errors: [APIErrorSpec(503, "not_ready")], servesFullNodes: true,
            action: .onLoop { request in
                let answer: APIAnswer = request.node.figures.unreadiness().map { .failure(.notReady($0)) }
                    ?? .success(.json(ByteBuffer(string: #"{"status":"ready"}"#)))
                return request.eventLoop.makeSucceededFuture(answer)
            }),
        APIEndpoint(
            .GET, "/openapi.json", summary: "This document.", answers: [.other(200, "The OpenAPI 3.1 document.", mediaType: "application/json")],
            action: .onLoop { request in request.eventLoop.makeSucceededFuture(.success(.json(OpenAPIDocument.served))) }),
        APIEndpoint(
            .GET, "/metrics", summary: "Prometheus metrics.", answers: [.other(200, "The text exposition.", mediaType: "text/plain")],
            servesFullNodes: true, action: .onLoop { request in
                request.eventLoop.makeSucceededFuture(.success(APIResponse(
                    body: ByteBuffer(bytes: request.node.figures.metricsText()), contentType: "text/plain; version=0.0.4; charset=utf-8")))
            }),
    ]

    // MARK: Pages

    static let pages: [APIEndpoint] = [
        page("/", "The viewer page (room `lobby`, or `?room=`).", WebAssets.viewerPage, query: [APIParameter("room", .string(), "The room to open.")]),
        page("/rooms/{room}", "The viewer page of a room.", WebAssets.viewerPage),
        page("/videos/{video}", "The viewer page playing a video's pool.", WebAssets.viewerPage),
        page("/admin", "The operators' dashboard.", WebAssets.adminPage),
    ] + PageScript.allCases.map { script in
        APIEndpoint(
            .GET, "/\(script.rawValue)", summary: "A JavaScript module of the pages.", answers: [.other(200, "The module.", mediaType: "text/javascript")],
            action: .onLoop { request in
                var headers = HTTPHeaders()
                headers.add(name: "X-Content-Type-Options", value: "nosniff")
                headers.add(name: "Cache-Control", value: "no-cache")
                return request.eventLoop.makeSucceededFuture(.success(APIResponse(
                    body: script.body, contentType: "text/javascript; charset=utf-8", headers: headers)))
            })
    }

    static func page(_ path: String, _ summary: String, _ body: ByteBuffer, query: [APIParameter] = []) -> APIEndpoint {
        APIEndpoint(
            .GET, path, summary: summary, query: query, answers: [.other(200, "The page.", mediaType: "text/html")],
            action: .onLoop { request in
                var headers = HTTPHeaders()
                for (name, value) in WebAssets.securityHeaders { headers.add(name: name, value: value) }
                return request.eventLoop.makeSucceededFuture(.success(APIResponse(body: body, contentType: "text/html; charset=utf-8", headers: headers)))
            })
    }

    // MARK: Rooms

    static let rooms: [APIEndpoint] = [
        APIEndpoint(
            .GET, "/v1/rooms/{room}/comments", readsStore: true, summary: "The room's history, oldest first.",
            query: [since, APIParameter("limit", .integer(minimum: 1, maximum: Int64(clamping: IngestConfiguration().maxHistoryLimit)), "At most this many (default \(IngestConfiguration().defaultHistoryLimit))."), epoch],
            answers: [.json(200, "The comments after `since` (the latest without it).", .ref("History"))],
            errors: [APIErrorSpec(400, "invalid_since", "invalid_limit", "invalid_epoch"), readBudget, storeDown],
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
            errors: [APIErrorSpec(400, "invalid_since", "invalid_epoch", "invalid_v"), readBudget],
            action: .eventStream),
        APIEndpoint(
            .GET, "/v1/rooms/{room}", readsStore: true, summary: "The room at a glance: viewers, latest seq, comment rate.",
            answers: [.json(200, "The room's figures.", .ref("RoomStats"))], errors: [readBudget, storeDown],
            action: .run { request in await request.roomsAPI.stats(room: request.room, on: request.eventLoop).map { .json($0) } }),
        APIEndpoint(
            .GET, "/v1/rooms", readsStore: true, summary: "The busiest rooms, most viewers first.",
            query: [APIParameter("top", .integer(minimum: 1, maximum: Int64(clamping: RoomsAPI.maxTop)), "How many (default 10).")],
            answers: [.json(200, "The rooms.", .ref("Rooms"))], errors: [APIErrorSpec(400, "invalid_top"), readBudget, storeDown],
            action: .run { request in await request.roomsAPI.busiest(target: request.target, on: request.eventLoop).map { .json($0) } }),
        APIEndpoint(
            .GET, "/v1/rooms/{room}/replay", readsStore: true, summary: "A stream's comments by their offset from its start.",
            query: [
                APIParameter("from", .integer(minimum: 0, maximum: Int64(clamping: ClientNumber.maxOffsetMilliseconds)), "From this offset, ms."),
                APIParameter("to", .integer(minimum: 0, maximum: Int64(clamping: ClientNumber.maxOffsetMilliseconds)), "Up to this offset, ms."),
                APIParameter("stream", .integer(minimum: 1, maximum: Int64(clamping: ClientNumber.maxSeq)), "The stream (the latest by default)."),
                APIParameter("limit", .integer(minimum: 1, maximum: Int64(clamping: RoomsAPI.maxReplayLimit)), "At most this many (default 1000)."),
            ],
            answers: [.json(200, "The stream and its comments.", .ref("Replay"))],
            errors: [APIErrorSpec(400, "invalid_from", "invalid_to", "invalid_stream", "invalid_limit"),
                     APIErrorSpec(404, "no_archive", "no_stream"), readBudget, storeDown],
            action: .run { request in await request.roomsAPI.replay(room: request.room, target: request.target).map { .json($0) } }),
        APIEndpoint(
            .POST, "/v1/rooms/{room}/live", principal: .staffOfRoom, summary: "Start a stream, for replay.",
            answers: [.json(200, "The stream.", .ref("Stream"))],
            links: [
                APILink("replay", "GET", "/v1/rooms/{room}/replay", parameters: [("room", "$request.path.room"), ("stream", "$response.body#/stream")]),
                APILink("end", "DELETE", "/v1/rooms/{room}/live", parameters: [("room", "$request.path.room")]),
            ],
            errors: [tokenErrors, forbidden, APIErrorSpec(404, "no_archive"), storeDown],
            action: .run { request in await request.roomsAPI.live(room: request.room, start: true, token: request.token).map { .json($0) } }),
        APIEndpoint(
            .DELETE, "/v1/rooms/{room}/live", principal: .staffOfRoom, summary: "End the stream.",
            answers: [.json(200, "The stream, ended.", .ref("Stream"))],
            errors: [tokenErrors, forbidden, APIErrorSpec(404, "no_archive"), APIErrorSpec(409, "not_live"), storeDown],
            action: .run { request in await request.roomsAPI.live(room: request.room, start: false, token: request.token).map { .json($0) } }),
    ]

    // MARK: Moderation

    static let moderation: [APIEndpoint] = [
        APIEndpoint(
            .POST, "/v1/rooms/{room}/bans", role: .logic, principal: .staffOfRoom, summary: "Ban a user from posting in the room.",
            body: json(.ref("BanRequest")), answers: [.json(200, "The ban.", .ref("Ban"))],
            links: [APILink("lift", "DELETE", "/v1/rooms/{room}/bans/{user}", parameters: [("room", "$request.path.room"), ("user", "$response.body#/user")])],
            errors: staffBodyErrors + [APIErrorSpec(400, "invalid_user", "invalid_seconds"), tokenErrors, forbidden, storeDown],
            action: .run { request in await request.moderationAPI.ban(room: request.room, token: request.token, body: request.body).map { .json($0) } }),
        APIEndpoint(
            .DELETE, "/v1/rooms/{room}/bans/{user}", role: .logic, principal: .staffOfRoom, summary: "Lift a ban.",
            answers: [.json(200, "The ban, lifted.", .ref("Unban"))], errors: [tokenErrors, forbidden, storeDown],
            action: .run { request in
                await request.moderationAPI.unban(room: request.room, user: request.path.user ?? "", token: request.token).map { .json($0) }
            }),
        APIEndpoint(
            .DELETE, "/v1/rooms/{room}/comments/{id}", role: .logic, principal: .poster,
            summary: "Retract a comment (staff of the room), or recall one's own within the recall window.",
            answers: [.json(200, "The comment is taken off every screen.", .ref("Retraction"))],
            errors: [tokenErrors, storeDown] + recallErrors,
            action: .run { request in
                await request.moderationAPI.retract(
                    room: request.room, id: request.path.id ?? "", token: request.token, clientAddress: request.clientAddress, on: request.eventLoop
                ).map { .json($0) }
            }),
        APIEndpoint(
            .GET, "/v1/rooms/{room}/settings", summary: "The room's settings.",
            answers: [.json(200, "The settings.", .ref("Settings"))], errors: [storeDown],
            action: .run { request in await request.moderationAPI.settings(room: request.room).map { .json($0) } }),
        settingsUpdate(.PUT, "Replace the room's settings."),
        settingsUpdate(.PATCH, "Change some of the room's settings."),
        APIEndpoint(
            .PUT, "/v1/words", role: .logic, principal: .moderator, summary: "Replace the node's blocked-word list.",
            body: json(.ref("WordsRequest")), answers: [.json(200, "The list's size.", .ref("Words"))],
            errors: staffBodyErrors + [APIErrorSpec(400, "invalid_words"), tokenErrors, forbidden],
            action: .run { request in await request.moderationAPI.replaceWords(token: request.token, body: request.body).map { .json($0) } }),
    ]

    /// `PUT` and `PATCH` of a room's settings: the same body and answer (the handler merges what
    /// a `PATCH` leaves out).
    static func settingsUpdate(_ method: HTTPMethod, _ summary: String) -> APIEndpoint {
        APIEndpoint(
            method, "/v1/rooms/{room}/settings", role: .logic, principal: .staffOfRoom, summary: summary,
            body: json(.ref("SettingsUpdate")), answers: [.json(200, "The settings.", .ref("Settings"))],
            errors: staffBodyErrors + [tokenErrors, forbidden, storeDown],
            action: .run { request in await request.moderationAPI.updateSettings(room: request.room, token: request.token, body: request.body).map { .json($0) } })
    }

    // MARK: Posts

    static let posts: [APIEndpoint] = [
        APIEndpoint(
            .POST, "/v1/rooms/{room}/comments", role: .ingest, principal: .poster, summary: "Post a comment.",
            headers: [idempotencyKey], body: json(.ref("CommentRequest")),
            answers: [.json(201, "Accepted: it is stored and on its way to every viewer.", .ref("CommentReceipt"))],
            links: [
                APILink("like", "POST", "/v1/rooms/{room}/comments/{id}/likes",
                        parameters: [("room", "$request.path.room"), ("id", "$response.body#/id")], body: [("seq", "$response.body#/seq")]),
                APILink("recall", "DELETE", "/v1/rooms/{room}/comments/{id}", parameters: [("room", "$request.path.room"), ("id", "$response.body#/id")]),
                APILink("history", "GET", "/v1/rooms/{room}/comments", parameters: [("room", "$request.path.room")]),
            ],
            errors: bodyErrors + [
                APIErrorSpec(400, "invalid_text", "invalid_color", "invalid_mode", "invalid_size", "invalid_pool", "invalid_idempotency_key"), tokenErrors,
                APIErrorSpec(403, "room_not_allowed", "banned", "pool_not_allowed", "style_not_allowed"),
                APIErrorSpec(409, "duplicate"), APIErrorSpec(413, "text_too_long"), APIErrorSpec(422, "filtered"),
                APIErrorSpec(429, "rate_limited", "slow_mode"), storeDown,
            ] + idempotencyErrors,
            action: .atOnceWhenItCan(PostsAPI.commentAtOnce, otherwise: { request in await PostsAPI(logic: request.node.logic).comment(request) })),
        APIEndpoint(
            .POST, "/v1/rooms/{room}/comments/{id}/likes", role: .ingest, principal: .poster, summary: "Like a comment (once per viewer).",
            body: json(.ref("LikeRequest")), answers: [.json(200, "The comment's likes.", .ref("Like"))],
            errors: [APIErrorSpec(400, "invalid_seq"), APIErrorSpec(413, "body_too_large"), tokenErrors, APIErrorSpec(403, "room_not_allowed"), APIErrorSpec(404, "not_found"),
                                  APIErrorSpec(429, "rate_limited"), storeDown],
            action: .run { request in
                await LikesAPI(likes: request.node.logic.likes).like(
                    room: request.room, id: request.path.id ?? "", body: request.body, token: request.token,
                    clientAddress: request.clientAddress, on: request.eventLoop
                ).map { .json($0) }
            }),
        APIEndpoint(
            .POST, "/v1/rooms/{room}/notices", role: .ingest, principal: .staffOfRoom, summary: "Post a notice to the room.",
            headers: [idempotencyKey], body: json(.ref("NoticeRequest")), answers: [.json(201, "Accepted.", .ref("Notice"))],
            errors: bodyErrors + idempotencyErrors + [APIErrorSpec(400, "invalid_payload", "invalid_idempotency_key"), tokenErrors, forbidden, storeDown],
            action: .run { request in await PostsAPI(logic: request.node.logic).notice(request) }),
        APIEndpoint(
            .POST, "/v1/broadcast", role: .ingest, principal: .admin, summary: "Post a notice to every room.",
            headers: [idempotencyKey], body: json(.ref("NoticeRequest")), answers: [.json(201, "Accepted in each room.", .ref("Broadcast"))],
            errors: bodyErrors + idempotencyErrors + [APIErrorSpec(400, "invalid_payload", "invalid_idempotency_key"), tokenErrors, forbidden, storeDown],
            action: .run { request in await PostsAPI(logic: request.node.logic).broadcast(request) }),
    ]

    // MARK: Videos

    static let videos: [APIEndpoint] = [
        APIEndpoint(
            .POST, "/v1/videos/{video}/comments", role: .ingest, principal: .poster, summary: "Post a comment at a moment of the video.",
            headers: [idempotencyKey], body: json(.ref("VideoCommentRequest")),
            answers: [.json(201, "Accepted into the pool.", .ref("VideoCommentReceipt"))],
            links: [
                APILink("like", "POST", "/v1/videos/{video}/comments/{id}/likes", parameters: [("video", "$request.path.video"), ("id", "$response.body#/id")]),
                APILink("remove", "DELETE", "/v1/videos/{video}/comments/{id}", parameters: [("video", "$request.path.video"), ("id", "$response.body#/id")]),
            ],
            errors: bodyErrors + idempotencyErrors + [
                APIErrorSpec(400, "invalid_text", "invalid_offsetMs", "invalid_color", "invalid_mode", "invalid_size", "invalid_pool", "invalid_idempotency_key"),
                tokenErrors, APIErrorSpec(403, "room_not_allowed", "banned", "pool_not_allowed", "style_not_allowed"),
                APIErrorSpec(404, "no_video"), APIErrorSpec(409, "duplicate", "video_full"), APIErrorSpec(413, "text_too_long"),
                APIErrorSpec(422, "filtered"), APIErrorSpec(429, "rate_limited", "slow_mode"), storeDown,
            ],
            action: .run { request in
                await PostsAPI.keyed(request) { key in
                    await request.videosAPI.post(
                        video: request.video, body: request.body, token: request.token, clientAddress: request.clientAddress, idempotencyKey: key
                    ).map(\.response)
                }
            }),
        APIEndpoint(
            .GET, "/v1/videos/{video}/segments/{n}", readsStore: true, summary: "The comments of the n-th six minutes of the video.",
            query: [APIParameter(
                "minWeight", .integer(minimum: Int64(clamping: CommentWeight.range.lowerBound), maximum: Int64(clamping: CommentWeight.range.upperBound)),
                "Only comments of at least this weight (a shielding level; docs/PROTOCOL.md gives the formula). Default 1: all.")],
            headers: [APIParameter("If-None-Match", .string(), "The segment's last ETag: 304 when unchanged.")],
            answers: [.json(200, "The segment.", .ref("Segment")), .empty(304, "Unchanged since the ETag sent.")],
            errors: [APIErrorSpec(400, "invalid_segment", "invalid_minWeight"), readBudget, storeDown],
            action: .run { request in
                let minWeight: Int
                switch request.target.integer("minWeight", in: CommentWeight.range, default: CommentWeight.range.lowerBound) {
                case .success(let value): minWeight = value
                case .failure(let error): return .failure(error)
                }
                return await request.videosAPI.segment(
                    video: request.video, segment: request.path.segment ?? "", minWeight: minWeight,
                    ifNoneMatch: request.head.headers["if-none-match"]
                ).map(\.response)
            }),
        APIEndpoint(
            .POST, "/v1/videos/{video}/comments/{id}/likes", role: .ingest, principal: .poster, summary: "Like a video's comment.",
            answers: [.json(200, "The comment's likes.", .ref("VideoLike"))],
            errors: [tokenErrors, APIErrorSpec(403, "room_not_allowed"), APIErrorSpec(404, "not_found"), APIErrorSpec(429, "rate_limited"), storeDown],
            action: .run { request in
                await request.videosAPI.like(video: request.video, id: request.path.id ?? "", token: request.token, clientAddress: request.clientAddress)
                    .map(\.response)
            }),
        APIEndpoint(
            .DELETE, "/v1/videos/{video}/comments/{id}", role: .logic, principal: .poster,
            summary: "Take a comment out of the pool (staff of the video, or its author within the recall window).",
            answers: [.json(200, "Removed.", .ref("VideoRemoval"))],
            errors: [tokenErrors, storeDown] + recallErrors,
            action: .run { request in
                await request.videosAPI.remove(video: request.video, id: request.path.id ?? "", token: request.token, clientAddress: request.clientAddress)
                    .map(\.response)
            }),
        APIEndpoint(
            .POST, "/v1/videos/{video}/publish", role: .logic, principal: .staffOfRoom, summary: "A finished stream's comments become the video's pool.",
            body: json(.ref("PublishRequest")), answers: [.json(200, "Published.", .ref("Published"))],
            errors: staffBodyErrors + [APIErrorSpec(400, "invalid_room", "invalid_stream"), tokenErrors, forbidden,
                                  APIErrorSpec(404, "no_archive", "no_stream"), storeDown],
            action: .run { request in await request.videosAPI.publish(video: request.video, body: request.body, token: request.token).map(\.response) }),
        APIEndpoint(
            .GET, "/v1/videos/{video}/export", role: .logic, principal: .staffOfRoom, readsStore: true,
            summary: "The video's whole pool as a file: Bilibili XML, ASS subtitles in lanes, or JSON.",
            query: [
                APIParameter("format", .enumeration(PoolFileFormat.allCases.map(\.rawValue)), "The file's format.", required: true),
                APIParameter("width", .integer(minimum: Int64(clamping: ASSLayout.sizes.lowerBound), maximum: Int64(clamping: ASSLayout.sizes.upperBound)), "ASS: the video's width in pixels (default 1920)."),
                APIParameter("height", .integer(minimum: Int64(clamping: ASSLayout.sizes.lowerBound), maximum: Int64(clamping: ASSLayout.sizes.upperBound)), "ASS: the video's height in pixels (default 1080)."),
                APIParameter("duration", .integer(minimum: Int64(clamping: ASSLayout.durations.lowerBound), maximum: Int64(clamping: ASSLayout.durations.upperBound)), "ASS: seconds a scrolling comment takes to cross (default 8)."),
            ],
            answers: [.files(200, "The file; `X-Danmaku-Comments` says how many comments the pool has, `X-Danmaku-Omitted` how many an ASS file left out for want of a free lane.",
                             PoolFileFormat.allCases.map { format in
                                 (String(format.contentType.prefix { $0 != ";" }), format == .json ? .ref("PoolComments") : .string())
                             })],
            errors: [APIErrorSpec(400, "invalid_format", "invalid_width", "invalid_height", "invalid_duration"), tokenErrors, forbidden,
                     APIErrorSpec(429, "rate_limited"), storeDown],
            action: .run { request in await PoolFilesAPI(transfer: request.node.logic.transfer).export(request) }),
        APIEndpoint(
            .POST, "/v1/videos/{video}/import", role: .logic, principal: .staffOfRoom,
            summary: "Add a Bilibili XML file's comments to the video's pool (all or nothing; ids the pool has are skipped).",
            query: [APIParameter("format", .enumeration(["bilibili-xml"]), "The file's format (default bilibili-xml).")],
            body: .file(mediaType: "application/xml"), answers: [.json(200, "Imported.", .ref("Imported"))],
            errors: [APIErrorSpec(400, "invalid_format", "invalid_file"), APIErrorSpec(413, "body_too_large", "file_too_large"),
                     APIErrorSpec(415, "unsupported_media_type"), tokenErrors, forbidden, APIErrorSpec(409, "video_full"),
                     APIErrorSpec(429, "rate_limited"), APIErrorSpec(503, "files_busy"), storeDown],
            action: .run { request in await PoolFilesAPI(transfer: request.node.logic.transfer).importFile(request) }),
    ]

    // MARK: Reports

    /// Reports and the staff's queue, for rooms and videos alike (`{room}` or `{video}`).
    static let reports: [APIEndpoint] = [
        reportEndpoint("/v1/rooms/{room}/comments/{id}/reports", "a live comment") { .room($0.room) },
        reportEndpoint("/v1/videos/{video}/comments/{id}/reports", "a video's comment") { .video($0.video) },
        queueEndpoint("/v1/rooms/{room}/reports", "room") { .room($0.room) },
        queueEndpoint("/v1/videos/{video}/reports", "video") { .video($0.video) },
        actionEndpoint("/v1/rooms/{room}/reports/{id}", "room", remove: "retracted from every screen and out of history") { .room($0.room) },
        actionEndpoint("/v1/videos/{video}/reports/{id}", "video", remove: "out of the pool") { .video($0.video) },
    ]

    static func reportEndpoint(_ path: String, _ what: String, queue: @escaping @Sendable (APIRequest) -> ReportQueue) -> APIEndpoint {
        APIEndpoint(
            .POST, path, role: .ingest, principal: .poster, summary: "Report \(what) to the room's staff (once per viewer).",
            body: json(.ref("ReportRequest")), answers: [.json(200, "Filed: the comment's reporters so far.", .ref("ReportFiled"))],
            errors: staffBodyErrors + [APIErrorSpec(400, "invalid_reason", "invalid_text", "invalid_seq"), tokenErrors, APIErrorSpec(403, "room_not_allowed", "banned", "forbidden"),
                                       APIErrorSpec(404, "not_found"), APIErrorSpec(409, "already_reported", "report_queue_full"),
                                       APIErrorSpec(429, "rate_limited"), storeDown],
            action: .run { request in
                await ReportsAPI(reports: request.node.logic.reports).report(
                    queue(request), id: request.path.id ?? "", body: request.body, token: request.token, clientAddress: request.clientAddress,
                    on: request.eventLoop)
            })
    }

    static func queueEndpoint(_ path: String, _ scope: String, queue: @escaping @Sendable (APIRequest) -> ReportQueue) -> APIEndpoint {
        APIEndpoint(
            .GET, path, role: .logic, principal: .staffOfRoom, summary: "The \(scope)'s reported comments, most reported first (its staff).",
            query: [APIParameter("limit", .integer(minimum: 1, maximum: Int64(clamping: CommentReports.maxListed)), "At most this many (default \(ReportsAPI.defaultLimit)).")],
            answers: [.json(200, "The queue.", .ref("ReportQueue"))],
            errors: [APIErrorSpec(400, "invalid_limit"), tokenErrors, forbidden, storeDown],
            action: .run { request in
                await ReportsAPI(reports: request.node.logic.reports).queue(queue(request), target: request.target, token: request.token)
            })
    }

    static func actionEndpoint(_ path: String, _ scope: String, remove: String, queue: @escaping @Sendable (APIRequest) -> ReportQueue) -> APIEndpoint {
        APIEndpoint(
            .POST, path, role: .logic, principal: .staffOfRoom,
            summary: "Act on a reported comment of the \(scope) and close its reports: dismiss, remove (\(remove)), or ban its author and remove it.",
            body: json(.ref("ReportActionRequest")), answers: [.json(200, "Done; the comment left the queue.", .ref("ReportResolved"))],
            errors: staffBodyErrors + [APIErrorSpec(400, "invalid_action", "invalid_seconds"), tokenErrors, forbidden, APIErrorSpec(404, "not_found"), storeDown],
            action: .run { request in
                await ReportsAPI(reports: request.node.logic.reports).act(queue(request), id: request.path.id ?? "", body: request.body, token: request.token)
            })
    }

    // MARK: Dashboard

    static let admin: [APIEndpoint] = [
        APIEndpoint(
            .GET, "/v1/admin/stats", principal: .moderator, summary: "The figures the dashboard draws.",
            query: [APIParameter("since", .integer(minimum: 0), "Also the figures recorded after this time (ms since 1970; 0 for all kept).")],
            answers: [.json(200, "The node's figures.", .ref("AdminStats"))],
            errors: [APIErrorSpec(400, "invalid_since"), tokenErrors, forbidden, storeDown],
            action: .run { request in
                let since: Int64?
                switch request.target.historySince {
                case .success(let value): since = value
                case .failure(let error): return .failure(error)
                }
                let admin = AdminAPI(
                    moderators: request.node.logic.moderationActions, rooms: request.node.logic.rooms, moderation: request.node.logic.moderation, figures: request.node.figures,
                    nodeName: request.node.configuration.nodeName)
                return await admin.stats(token: request.token, historySince: since, on: request.eventLoop).map { .json($0) }
            }),
    ]
}

extension APIRequest {
    var roomsAPI: RoomsAPI { RoomsAPI(rooms: node.logic.rooms, moderationAPI: moderationAPI, replay: node.logic.replay) }
    var moderationAPI: ModerationAPI { ModerationAPI(actions: node.logic.moderationActions, words: node.logic.words, moderation: node.logic.moderation, records: node.logic.records) }
    var videosAPI: VideosAPI { VideosAPI(videos: node.logic.videos) }
}

extension VideosAPI.Reply {
    /// The reply as the router answers it.
    var response: APIResponse { APIResponse(status: status, body: body, headers: headers) }
}
