// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import DanmakuLogic
import NIOCore
import NIOHTTP1

/// Posts over HTTP: a viewer's comment (201 with its seq), a streamer's notice, a broadcast.
struct PostsAPI: Sendable {
    let posts: CommentPosting
    let notices: NoticePosting

    init(logic: LogicTier) {
        (posts, notices) = (logic.posts, logic.notices)
    }

    /// `POST /v1/rooms/{room}/comments`: checked, stored and published.
    func comment(_ request: APIRequest) async -> APIAnswer {
        await Self.keyed(request) { key in
            let comment: CommentRequest
            switch CommentRequest.decode(from: Array(request.body.readableBytesView)) {
            case .success(let decoded): comment = decoded
            case .failure(let error): return .failure(error)
            }
            return await posts.post(room: request.room, request: comment, token: request.token, clientAddress: request.clientAddress, idempotencyKey: key)
                .map { .json($0.json, status: .created) }
        }
    }

    /// `comment`, answered on the connection's loop when the node can post from there: at once
    /// (`ImmediatePosting`, the embedded bus) or with the store's one call (`LoopPosting`, Redis);
    /// nil when it cannot, and `comment` runs off the loop.
    static func commentAtOnce(_ request: APIRequest) -> LoopAnswer? {
        let logic = request.node.logic
        guard logic.immediatePosts != nil || logic.loopPosts != nil else { return nil }
        let key: IdempotencyKey?
        switch jsonBodyAndKey(request.head) {
        case .success(let value): key = value
        case .failure(let error): return .now(.failure(error))
        }
        if let immediate = logic.immediatePosts {
            let posted = immediate.post(
                room: request.room, body: Array(request.body.readableBytesView), token: request.token, clientAddress: request.clientAddress,
                idempotencyKey: key)
            return posted.map { outcome in .now(outcome.map { .json($0.json, status: .created) }) }
        }
        let posted = logic.loopPosts?.post(
            room: request.room, body: Array(request.body.readableBytesView), token: request.token, clientAddress: request.clientAddress,
            idempotencyKey: key, on: request.eventLoop)
        return posted.map { future in .later(future.map { outcome in outcome.map { .json($0.json, status: .created) } }) }
    }

    /// `POST /v1/rooms/{room}/notices`: a notice from a backend or a streamer's tool.
    func notice(_ request: APIRequest) async -> APIAnswer {
        await Self.keyed(request) { key in
            await notices.postNotice(room: request.room, body: Array(request.body.readableBytesView), token: request.token, idempotencyKey: key)
                .map { .json(RoomsAPI.encode($0), status: .created) }
        }
    }

    /// `POST /v1/broadcast`: a notice to every room.
    func broadcast(_ request: APIRequest) async -> APIAnswer {
        await Self.keyed(request) { key in
            await notices.broadcast(body: Array(request.body.readableBytesView), token: request.token, idempotencyKey: key)
                .map { .json(RoomsAPI.encode(Broadcast(notices: $0)), status: .created) }
        }
    }

    /// Runs `post` with the request's `Idempotency-Key` (nil without one) once the body is declared
    /// JSON (`415` otherwise) and the key is well formed (`400` otherwise).
    static func keyed(_ request: APIRequest, _ post: (IdempotencyKey?) async -> APIAnswer) async -> APIAnswer {
        switch jsonBodyAndKey(request.head) {
        case .success(let key): await post(key)
        case .failure(let error): .failure(error)
        }
    }

    /// A JSON body (`415` otherwise) and the `Idempotency-Key`, if any (`400` when malformed).
    static func jsonBodyAndKey(_ head: HTTPRequestHead) -> Result<IdempotencyKey?, DanmakuError> {
        guard RequestHeaders.allowsJSONBody(head.headers) else { return .failure(.unsupportedMediaType) }
        return RequestHeaders.idempotencyKey(head.headers)
    }
}

/// `POST /v1/broadcast`'s answer: the notice as each room numbered it.
struct Broadcast: Encodable {
    var notices: [AcceptedNotice]
}
