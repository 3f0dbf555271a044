// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation
import NIOCore

/// A stored notice: what the 201 answer says.
public struct AcceptedNotice: Codable, Sendable, Equatable {
    /// The notice's id (to retract it, like a comment).
    public var id: String
    public var room: String
    /// Its place in the room's sequence.
    public var seq: UInt64
    /// Acceptance time, ms since the epoch.
    public var ts: Int64
}

/// Notices: a streamer's or moderator's message above the video, numbered and stored with the
/// room's comments, and an admin's broadcast of one to every room with viewers.
public struct NoticePosting: Sendable {
    let authenticator: any PostAuthenticator
    let publisher: RecordPublisher
    let idempotency: IdempotentPosts
    /// The rooms with viewers now, for a broadcast.
    let online: OnlineDirectory

    /// Posts a notice to `room`: a streamer of the room, a moderator or an admin may. Notices skip
    /// the comment checks (rate limits, filter, slow mode): they come from trusted tools. With
    /// `idempotencyKey`, a retry by the same user gets the first notice's answer (`IdempotentPosts`).
    public func postNotice(
        room: RoomID, body: [UInt8], token: String?, idempotencyKey: IdempotencyKey? = nil
    ) async -> Result<AcceptedNotice, DanmakuError> {
        let author: CommentAuthor
        switch await authenticator.moderator(token: token, room: room) {
        case .success(let value): author = value
        case .failure(let error): return .failure(error)
        }
        switch Notice.canonicalPayload(body) {
        case .success(let payload):
            return await idempotency.perform(
                idempotencyKey, kind: .notice, scope: room.value, principal: author.id, request: payload.readableBytesView
            ) { await store(payload: payload, room: room, author: author) }
        case .failure(let error): return .failure(error)
        }
    }

    /// Posts a notice to every room that has viewers now (an admin only); the notices, one per room.
    ///
    /// With `idempotencyKey`, the key is kept per room: a retry of a broadcast
    /// that failed part-way gets the notices already stored back and stores only the rest.
    public func broadcast(body: [UInt8], token: String?, idempotencyKey: IdempotencyKey? = nil) async -> Result<[AcceptedNotice], DanmakuError> {
        let author: CommentAuthor
        switch await authenticator.moderator(token: token, room: nil) {
        case .failure(let error): return .failure(error)
        case .success(let moderator):
            guard moderator.role == "admin" else { return .failure(.notAModerator) }
            author = moderator
        }
        let payload: ByteBuffer
        switch Notice.canonicalPayload(body) {
        case .success(let value): payload = value
        case .failure(let error): return .failure(error)
        }
        var notices: [AcceptedNotice] = []
        for (room, _) in online.busiest(Int.max) {
            switch await idempotency.perform(
                idempotencyKey, kind: .broadcast, scope: room.value, principal: author.id, request: payload.readableBytesView,
                { await store(payload: payload, room: room, author: author) }
            ) {
            case .success(let notice): notices.append(notice)
            case .failure(let error): return .failure(error)
            }
        }
        return .success(notices)
    }

    /// Numbers, stores and publishes a notice, like a comment.
    private func store(payload: ByteBuffer, room: RoomID, author: CommentAuthor) async -> Result<AcceptedNotice, StoreFailure> {
        let id = RandomID.make()
        let ts = currentTimeMillis()
        return await publisher.storeAndPublish(room: room) {
            try Notice.unnumberedJSON(id: id, room: room, payload: payload, ts: ts, author: author)
        }.map { AcceptedNotice(id: id, room: room.value, seq: $0.seq, ts: ts) }
    }
}
