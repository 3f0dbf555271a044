// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import DanmakuFormats
import DanmakuLogic

/// The endpoints of a video's comment pool: posting at an offset, segments, likes and removals,
/// publishing a stream into the pool, and its files (export and import).
enum VideoRoutes {
    /// Every endpoint of this area, in declaration order.
    static let all: [APIEndpoint] = [
        APIEndpoint(
            .POST, "/v1/videos/{video}/comments", role: .ingest, principal: .poster, summary: "Post a comment at a moment of the video.",
            headers: [RouteCommons.idempotencyKey], body: .json(.ref("VideoCommentRequest")),
            answers: [.json(201, "Accepted into the pool.", .ref("VideoCommentReceipt"))],
            links: [
                APILink("like", "POST", "/v1/videos/{video}/comments/{id}/likes", parameters: [("video", "$request.path.video"), ("id", "$response.body#/id")]),
                APILink("remove", "DELETE", "/v1/videos/{video}/comments/{id}", parameters: [("video", "$request.path.video"), ("id", "$response.body#/id")]),
            ],
            errors: RouteCommons.bodyErrors + RouteCommons.idempotencyErrors + [
                APIErrorSpec(400, "invalid_text", "invalid_offsetMs", "invalid_color", "invalid_mode", "invalid_size", "invalid_pool", "invalid_idempotency_key"),
                RouteCommons.tokenErrors, APIErrorSpec(403, "room_not_allowed", "banned", "pool_not_allowed", "style_not_allowed"),
                APIErrorSpec(404, "no_video"), APIErrorSpec(409, "duplicate", "video_full"), APIErrorSpec(413, "text_too_long"),
                APIErrorSpec(422, "filtered"), APIErrorSpec(429, "rate_limited", "slow_mode"), RouteCommons.storeDown,
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
            errors: [APIErrorSpec(400, "invalid_segment", "invalid_minWeight"), RouteCommons.readBudget, RouteCommons.storeDown],
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
            errors: [RouteCommons.tokenErrors, APIErrorSpec(403, "room_not_allowed"), APIErrorSpec(404, "not_found"), APIErrorSpec(429, "rate_limited"), RouteCommons.storeDown],
            action: .run { request in
                await request.videosAPI.like(video: request.video, id: request.path.id ?? "", token: request.token, clientAddress: request.clientAddress)
                    .map(\.response)
            }),
        APIEndpoint(
            .DELETE, "/v1/videos/{video}/comments/{id}", role: .logic, principal: .poster,
            summary: "Take a comment out of the pool (staff of the video, or its author within the recall window).",
            answers: [.json(200, "Removed.", .ref("VideoRemoval"))],
            errors: [RouteCommons.tokenErrors, RouteCommons.storeDown] + RouteCommons.recallErrors,
            action: .run { request in
                await request.videosAPI.remove(video: request.video, id: request.path.id ?? "", token: request.token, clientAddress: request.clientAddress)
                    .map(\.response)
            }),
        APIEndpoint(
            .POST, "/v1/videos/{video}/publish", role: .logic, principal: .staffOfRoom, summary: "A finished stream's comments become the video's pool.",
            body: .json(.ref("PublishRequest")), answers: [.json(200, "Published.", .ref("Published"))],
            errors: RouteCommons.staffBodyErrors + [APIErrorSpec(400, "invalid_room", "invalid_stream"), RouteCommons.tokenErrors, RouteCommons.forbidden,
                                  APIErrorSpec(404, "no_archive", "no_stream"), RouteCommons.storeDown],
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
            errors: [APIErrorSpec(400, "invalid_format", "invalid_width", "invalid_height", "invalid_duration"), RouteCommons.tokenErrors, RouteCommons.forbidden,
                     APIErrorSpec(429, "rate_limited"), RouteCommons.storeDown],
            action: .run { request in await PoolFilesAPI(transfer: request.node.logic.transfer).export(request) }),
        APIEndpoint(
            .POST, "/v1/videos/{video}/import", role: .logic, principal: .staffOfRoom,
            summary: "Add a Bilibili XML file's comments to the video's pool (all or nothing; ids the pool has are skipped).",
            query: [APIParameter("format", .enumeration(["bilibili-xml"]), "The file's format (default bilibili-xml).")],
            body: .file(mediaType: "application/xml"), answers: [.json(200, "Imported.", .ref("Imported"))],
            errors: [APIErrorSpec(400, "invalid_format", "invalid_file"), APIErrorSpec(413, "body_too_large", "file_too_large"),
                     APIErrorSpec(415, "unsupported_media_type"), RouteCommons.tokenErrors, RouteCommons.forbidden, APIErrorSpec(409, "video_full"),
                     APIErrorSpec(429, "rate_limited"), APIErrorSpec(503, "files_busy"), RouteCommons.storeDown],
            action: .run { request in await PoolFilesAPI(transfer: request.node.logic.transfer).importFile(request) }),
    ]
}

extension APIRequest {
    /// The video handlers, made for this request from the node's logic.
    var videosAPI: VideosAPI { VideosAPI(videos: node.logic.videos) }
}

extension VideosAPI.Reply {
    /// The reply as the router answers it.
    var response: APIResponse { APIResponse(status: status, body: body, headers: headers) }
}
