// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import DanmakuLogic
import NIOCore
import NIOHTTP1
import Tracing

/// Posts over HTTP: a viewer's comment (201) and a streamer's notice or broadcast.
extension IngestHTTPHandler {
    /// `POST /v1/rooms/{room}/comments`: checked, stored and published; 201 with its seq.
    func postComment(context: ChannelHandlerContext, room: RoomID, head: HTTPRequestHead, body: ByteBuffer) {
        let keepAlive = RequestHeaders.keepsAlive(head)
        if !RequestHeaders.allowsJSONBody(head.headers) {
            return respond(context: context, error: .unsupportedMediaType, keepAlive: keepAlive)
        }
        let key: IdempotencyKey?
        switch RequestHeaders.idempotencyKey(head.headers) {
        case .success(let value): key = value
        case .failure(let error): return respond(context: context, error: error, keepAlive: keepAlive)
        }
        let request: CommentRequest
        switch CommentRequest.decode(from: Array(body.readableBytesView)) {
        case .success(let decoded): request = decoded
        case .failure(let error): return respond(context: context, error: error, keepAlive: keepAlive)
        }
        let address = clientAddress(context: context, head: head)
        let token = RequestHeaders.bearerToken(head.headers)
        let service = self.service
        offLoop(context: context) {
            await service.post(room: room, request: request, token: token, clientAddress: address, idempotencyKey: key)
        }.assumeIsolated().whenSuccess { [self] result in
            switch result {
            case .success(let receipt):
                respond(context: context, status: .created, json: encode(receipt), keepAlive: keepAlive)
            case .failure(let error):
                respond(context: context, error: error, keepAlive: keepAlive)
            }
        }
    }

    /// `POST /v1/rooms/{room}/notices` (201 with the notice's id and seq) or `POST /v1/broadcast`
    /// (201 with one such per room).
    func postNotice(context: ChannelHandlerContext, route: Route, head: HTTPRequestHead, body: ByteBuffer) {
        let keepAlive = RequestHeaders.keepsAlive(head)
        if !RequestHeaders.allowsJSONBody(head.headers) {
            return respond(context: context, error: .unsupportedMediaType, keepAlive: keepAlive)
        }
        let key: IdempotencyKey?
        switch RequestHeaders.idempotencyKey(head.headers) {
        case .success(let value): key = value
        case .failure(let error): return respond(context: context, error: error, keepAlive: keepAlive)
        }
        let token = RequestHeaders.bearerToken(head.headers)
        let bytes = Array(body.readableBytesView)
        let service = self.service
        offLoop(context: context) { () -> Result<ByteBuffer, DanmakuError> in
            if case .notices(let room) = route {
                return await service.postNotice(room: room, body: bytes, token: token, idempotencyKey: key).map(RoomsAPI.encode)
            }
            return await service.broadcast(body: bytes, token: token, idempotencyKey: key).map { RoomsAPI.encode(Broadcast(notices: $0)) }
        }.assumeIsolated().whenSuccess { [self] result in
            switch result {
            case .success(let json): respond(context: context, status: .created, json: json, keepAlive: keepAlive)
            case .failure(let error): respond(context: context, error: error, keepAlive: keepAlive)
            }
        }
    }

    private struct Broadcast: Encodable {
        var notices: [AcceptedNotice]
    }
}
