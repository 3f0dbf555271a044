// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import DanmakuLogic

/// The endpoints of a room as a whole: its figures, the busiest rooms, and its streams with their replay.
enum RoomRoutes {
    /// Every endpoint of this area, in declaration order.
    static let all: [APIEndpoint] = [
        APIEndpoint(
            .GET, "/v1/rooms/{room}", readsStore: true, summary: "The room at a glance: viewers, latest seq, comment rate.",
            answers: [.json(200, "The room's figures.", .ref("RoomStats"))], errors: [RouteCommons.readBudget, RouteCommons.storeDown],
            action: .run { request in await request.roomsAPI.stats(room: request.room, on: request.eventLoop).map { .json($0) } }),
        APIEndpoint(
            .GET, "/v1/rooms", readsStore: true, summary: "The busiest rooms, most viewers first.",
            query: [APIParameter("top", .integer(minimum: 1, maximum: Int64(clamping: RoomsAPI.maxTop)), "How many (default 10).")],
            answers: [.json(200, "The rooms.", .ref("Rooms"))], errors: [APIErrorSpec(400, "invalid_top"), RouteCommons.readBudget, RouteCommons.storeDown],
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
                     APIErrorSpec(404, "no_archive", "no_stream"), RouteCommons.readBudget, RouteCommons.storeDown],
            action: .run { request in await request.roomsAPI.replay(room: request.room, target: request.target).map { .json($0) } }),
        APIEndpoint(
            .POST, "/v1/rooms/{room}/live", principal: .staffOfRoom, summary: "Start a stream, for replay.",
            answers: [.json(200, "The stream.", .ref("Stream"))],
            links: [
                APILink("replay", "GET", "/v1/rooms/{room}/replay", parameters: [("room", "$request.path.room"), ("stream", "$response.body#/stream")]),
                APILink("end", "DELETE", "/v1/rooms/{room}/live", parameters: [("room", "$request.path.room")]),
            ],
            errors: [RouteCommons.tokenErrors, RouteCommons.forbidden, APIErrorSpec(404, "no_archive"), RouteCommons.storeDown],
            action: .run { request in await request.roomsAPI.live(room: request.room, start: true, token: request.token).map { .json($0) } }),
        APIEndpoint(
            .DELETE, "/v1/rooms/{room}/live", principal: .staffOfRoom, summary: "End the stream.",
            answers: [.json(200, "The stream, ended.", .ref("Stream"))],
            errors: [RouteCommons.tokenErrors, RouteCommons.forbidden, APIErrorSpec(404, "no_archive"), APIErrorSpec(409, "not_live"), RouteCommons.storeDown],
            action: .run { request in await request.roomsAPI.live(room: request.room, start: false, token: request.token).map { .json($0) } }),
    ]
}

extension APIRequest {
    /// The rooms' handlers, made for this request from the node's logic.
    var roomsAPI: RoomsAPI { RoomsAPI(rooms: node.logic.rooms, moderationAPI: moderationAPI, replay: node.logic.replay) }
}
