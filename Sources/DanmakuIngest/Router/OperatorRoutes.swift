// Danmaku — a live-stream bullet-comment service.

import DanmakuLogic
import NIOCore

/// The endpoints operators and their probes use: health, readiness, this document, metrics, and the
/// dashboard's figures.
enum OperatorRoutes {
    /// Health, readiness, the OpenAPI document and Prometheus metrics: answered even by a full node
    /// where they say so, so that probes still get through.
    static let health: [APIEndpoint] = [
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

    /// The figures the dashboard draws.
    static let dashboard: [APIEndpoint] = [
        APIEndpoint(
            .GET, "/v1/admin/stats", principal: .moderator, summary: "The figures the dashboard draws.",
            query: [APIParameter("since", .integer(minimum: 0), "Also the figures recorded after this time (ms since 1970; 0 for all kept).")],
            answers: [.json(200, "The node's figures.", .ref("AdminStats"))],
            errors: [APIErrorSpec(400, "invalid_since"), RouteCommons.tokenErrors, RouteCommons.forbidden, RouteCommons.storeDown],
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
