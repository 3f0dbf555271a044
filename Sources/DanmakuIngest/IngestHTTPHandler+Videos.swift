// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import DanmakuLogic
import NIOCore
import NIOHTTP1

/// The video endpoints (`VideosAPI`), answered with their own status and headers.
extension IngestHTTPHandler {
    func video(context: ChannelHandlerContext, route: Route, head: HTTPRequestHead, body: ByteBuffer, keepAlive: Bool) {
        let token = RequestHeaders.bearerToken(head.headers)
        let api = VideosAPI(service: service)
        let work: @Sendable () async -> VideosAPI.Answer
        switch route {
        case .videoComments(let video):
            if !RequestHeaders.allowsJSONBody(head.headers) {
                return respond(context: context, error: .unsupportedMediaType, keepAlive: keepAlive)
            }
            let key: IdempotencyKey?
            switch RequestHeaders.idempotencyKey(head.headers) {
            case .success(let value): key = value
            case .failure(let error): return respond(context: context, error: error, keepAlive: keepAlive)
            }
            let address = clientAddress(context: context, head: head)
            work = { await api.post(video: video, body: body, token: token, clientAddress: address, idempotencyKey: key) }
        case .videoSegment(let video, let segment):
            let tags = head.headers["if-none-match"]
            work = { await api.segment(video: video, segment: segment, ifNoneMatch: tags) }
        case .videoLikes(let video, let id):
            let address = clientAddress(context: context, head: head)
            work = { await api.like(video: video, id: id, token: token, clientAddress: address) }
        case .videoComment(let video, let id):
            let address = clientAddress(context: context, head: head)
            work = { await api.remove(video: video, id: id, token: token, clientAddress: address) }
        case .videoPublish(let video):
            work = { await api.publish(video: video, body: body, token: token) }
        default:
            return respond(context: context, error: .notFound, keepAlive: keepAlive)
        }
        offLoop(context: context, work).assumeIsolated().whenSuccess { [self] answer in
            switch answer {
            case .success(let reply):
                respond(context: context, status: reply.status, json: reply.body, keepAlive: keepAlive, extraHeaders: reply.headers)
            case .failure(let error):
                respond(context: context, error: error, keepAlive: keepAlive)
            }
        }
    }
}
