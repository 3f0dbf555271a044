// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation
import NIOCore

/// Likes of live comments: counted once per user, and each new count sent to the room's viewers.
public struct CommentLikes: Sendable {
    let likers: Likers
    /// The room's history, where the liked comment is checked.
    let log: any CommentLog
    let likes: any LikeStore
    let publisher: RecordPublisher

    /// `user` likes comment `id` (`seq`) of `room`: counted once per user, and a new count goes
    /// to the room's viewers over the bus.
    ///
    /// The client names the comment's seq as well as its id (it has both), so the comment is
    /// checked with one history read of one entry rather than a search.
    public func like(
        room: RoomID, id: String, seq: UInt64, token: String?, clientAddress: String, on eventLoop: any EventLoop
    ) async -> Result<LikeCount, DanmakuError> {
        guard EncodedComment.isPlausibleID(id), seq > 0 else { return .failure(.notFound) }
        let author: CommentAuthor
        switch await likers.liker(token: token, room: room, clientAddress: clientAddress) {
        case .success(let who): author = who
        case .failure(let error): return .failure(error)
        }
        do {
            let found = try await log.snapshot(room: room, since: seq - 1, limit: 1, on: eventLoop).get()
            guard let comment = found.comments.first, comment.seq == seq, comment.hasID(id) else { return .failure(.notFound) }
            let (count, added) = try await likes.like(room: room, id: id, user: author.id)
            let like = LikeCount(id: id, seq: seq, count: count)
            if added { await publisher.publishLikes([like], room: room) }
            return .success(like)
        } catch {
            return .failure(.busUnavailable(String(describing: error)))
        }
    }
}
