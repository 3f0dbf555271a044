// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuLogic
import NIOHTTP1

/// The endpoints of the staff's tools: bans, retractions, room settings and the blocked-word list,
/// and viewers' reports with the queue the staff acts on.
enum ModerationRoutes {
    /// Bans, retractions, settings and words.
    static let staff: [APIEndpoint] = [
        APIEndpoint(
            .POST, "/v1/rooms/{room}/bans", role: .logic, principal: .staffOfRoom, summary: "Ban a user from posting in the room.",
            body: .json(.ref("BanRequest")), answers: [.json(200, "The ban.", .ref("Ban"))],
            links: [APILink("lift", "DELETE", "/v1/rooms/{room}/bans/{user}", parameters: [("room", "$request.path.room"), ("user", "$response.body#/user")])],
            errors: RouteCommons.staffBodyErrors + [APIErrorSpec(400, "invalid_user", "invalid_seconds"), RouteCommons.tokenErrors, RouteCommons.forbidden, RouteCommons.storeDown],
            action: .run { request in await request.moderationAPI.ban(room: request.room, token: request.token, body: request.body).map { .json($0) } }),
        APIEndpoint(
            .DELETE, "/v1/rooms/{room}/bans/{user}", role: .logic, principal: .staffOfRoom, summary: "Lift a ban.",
            answers: [.json(200, "The ban, lifted.", .ref("Unban"))], errors: [RouteCommons.tokenErrors, RouteCommons.forbidden, RouteCommons.storeDown],
            action: .run { request in
                await request.moderationAPI.unban(room: request.room, user: request.path.user ?? "", token: request.token).map { .json($0) }
            }),
        APIEndpoint(
            .DELETE, "/v1/rooms/{room}/comments/{id}", role: .logic, principal: .poster,
            summary: "Retract a comment (staff of the room), or recall one's own within the recall window.",
            answers: [.json(200, "The comment is taken off every screen.", .ref("Retraction"))],
            errors: [RouteCommons.tokenErrors, RouteCommons.storeDown] + RouteCommons.recallErrors,
            action: .run { request in
                await request.moderationAPI.retract(
                    room: request.room, id: request.path.id ?? "", token: request.token, clientAddress: request.clientAddress, on: request.eventLoop
                ).map { .json($0) }
            }),
        APIEndpoint(
            .GET, "/v1/rooms/{room}/settings", summary: "The room's settings.",
            answers: [.json(200, "The settings.", .ref("Settings"))], errors: [RouteCommons.storeDown],
            action: .run { request in await request.moderationAPI.settings(room: request.room).map { .json($0) } }),
        settingsUpdate(.PUT, "Replace the room's settings."),
        settingsUpdate(.PATCH, "Change some of the room's settings."),
        APIEndpoint(
            .PUT, "/v1/words", role: .logic, principal: .moderator, summary: "Replace the node's blocked-word list.",
            body: .json(.ref("WordsRequest")), answers: [.json(200, "The list's size.", .ref("Words"))],
            errors: RouteCommons.staffBodyErrors + [APIErrorSpec(400, "invalid_words"), RouteCommons.tokenErrors, RouteCommons.forbidden],
            action: .run { request in await request.moderationAPI.replaceWords(token: request.token, body: request.body).map { .json($0) } }),
    ]

    /// `PUT` and `PATCH` of a room's settings: the same body and answer (the handler merges what
    /// a `PATCH` leaves out).
    static func settingsUpdate(_ method: HTTPMethod, _ summary: String) -> APIEndpoint {
        APIEndpoint(
            method, "/v1/rooms/{room}/settings", role: .logic, principal: .staffOfRoom, summary: summary,
            body: .json(.ref("SettingsUpdate")), answers: [.json(200, "The settings.", .ref("Settings"))],
            errors: RouteCommons.staffBodyErrors + [RouteCommons.tokenErrors, RouteCommons.forbidden, RouteCommons.storeDown],
            action: .run { request in await request.moderationAPI.updateSettings(room: request.room, token: request.token, body: request.body).map { .json($0) } })
    }

    /// Reports and the staff's queue, for rooms and videos alike (`{room}` or `{video}`).
    static let reports: [APIEndpoint] = [
        reportEndpoint("/v1/rooms/{room}/comments/{id}/reports", "a live comment") { .room($0.room) },
        reportEndpoint("/v1/videos/{video}/comments/{id}/reports", "a video's comment") { .video($0.video) },
        queueEndpoint("/v1/rooms/{room}/reports", "room") { .room($0.room) },
        queueEndpoint("/v1/videos/{video}/reports", "video") { .video($0.video) },
        actionEndpoint("/v1/rooms/{room}/reports/{id}", "room", remove: "retracted from every screen and out of history") { .room($0.room) },
        actionEndpoint("/v1/videos/{video}/reports/{id}", "video", remove: "out of the pool") { .video($0.video) },
    ]

    /// A viewer reporting a comment of the queue `queue` picks.
    static func reportEndpoint(_ path: String, _ what: String, queue: @escaping @Sendable (APIRequest) -> ReportQueue) -> APIEndpoint {
        APIEndpoint(
            .POST, path, role: .ingest, principal: .poster, summary: "Report \(what) to the room's staff (once per viewer).",
            body: .json(.ref("ReportRequest")), answers: [.json(200, "Filed: the comment's reporters so far.", .ref("ReportFiled"))],
            errors: RouteCommons.staffBodyErrors + [APIErrorSpec(400, "invalid_reason", "invalid_text", "invalid_seq"), RouteCommons.tokenErrors, APIErrorSpec(403, "room_not_allowed", "banned", "forbidden"),
                                       APIErrorSpec(404, "not_found"), APIErrorSpec(409, "already_reported", "report_queue_full"),
                                       APIErrorSpec(429, "rate_limited"), RouteCommons.storeDown],
            action: .run { request in
                await ReportsAPI(reports: request.node.logic.reports).report(
                    queue(request), id: request.path.id ?? "", body: request.body, token: request.token, clientAddress: request.clientAddress,
                    on: request.eventLoop)
            })
    }

    /// The staff reading a queue.
    static func queueEndpoint(_ path: String, _ scope: String, queue: @escaping @Sendable (APIRequest) -> ReportQueue) -> APIEndpoint {
        APIEndpoint(
            .GET, path, role: .logic, principal: .staffOfRoom, summary: "The \(scope)'s reported comments, most reported first (its staff).",
            query: [APIParameter("limit", .integer(minimum: 1, maximum: Int64(clamping: CommentReports.maxListed)), "At most this many (default \(ReportsAPI.defaultLimit)).")],
            answers: [.json(200, "The queue.", .ref("ReportQueue"))],
            errors: [APIErrorSpec(400, "invalid_limit"), RouteCommons.tokenErrors, RouteCommons.forbidden, RouteCommons.storeDown],
            action: .run { request in
                await ReportsAPI(reports: request.node.logic.reports).queue(queue(request), target: request.target, token: request.token)
            })
    }

    /// The staff acting on a reported comment of a queue.
    static func actionEndpoint(_ path: String, _ scope: String, remove: String, queue: @escaping @Sendable (APIRequest) -> ReportQueue) -> APIEndpoint {
        APIEndpoint(
            .POST, path, role: .logic, principal: .staffOfRoom,
            summary: "Act on a reported comment of the \(scope) and close its reports: dismiss, remove (\(remove)), or ban its author and remove it.",
            body: .json(.ref("ReportActionRequest")), answers: [.json(200, "Done; the comment left the queue.", .ref("ReportResolved"))],
            errors: RouteCommons.staffBodyErrors + [APIErrorSpec(400, "invalid_action", "invalid_seconds"), RouteCommons.tokenErrors, RouteCommons.forbidden, APIErrorSpec(404, "not_found"), RouteCommons.storeDown],
            action: .run { request in
                await ReportsAPI(reports: request.node.logic.reports).act(queue(request), id: request.path.id ?? "", body: request.body, token: request.token)
            })
    }
}

extension APIRequest {
    /// The moderation handlers, made for this request from the node's logic.
    var moderationAPI: ModerationAPI { ModerationAPI(actions: node.logic.moderationActions, words: node.logic.words, moderation: node.logic.moderation, records: node.logic.records) }
}
