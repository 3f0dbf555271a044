// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation
import NIOCore

extension CommentService {
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
        switch await liker(token: token, room: room, clientAddress: clientAddress) {
        case .success(let who): author = who
        case .failure(let error): return .failure(error)
        }
        do {
            let found = try await log.snapshot(room: room, since: seq - 1, limit: 1, on: eventLoop).get()
            guard let comment = found.comments.first, comment.seq == seq, comment.hasID(id) else { return .failure(.notFound) }
            let (count, added) = try await likes.like(room: room, id: id, user: author.id)
            let like = LikeCount(id: id, seq: seq, count: count)
            if added {
                do {
                    try await bus.publishLikes([like], room: room)
                } catch {
                    // The count is kept; viewers see it with the comment's next like.
                    onPublishFailure(error)
                }
            }
            return .success(like)
        } catch {
            return .failure(.busUnavailable(String(describing: error)))
        }
    }

    /// Who a like (of a live or a video comment) comes from, charged to their like rate: the
    /// author `token` stands for in `room`, or the refusal.
    func liker(token: String?, room: RoomID, clientAddress: String) async -> Result<CommentAuthor, DanmakuError> {
        switch await authenticator.author(token: token, room: room, clientAddress: clientAddress) {
        case .success(let author):
            if let limited = likeLimiter.acquire(keys: [.user: author.id], now: Date().timeIntervalSince1970) { return .failure(limited) }
            return .success(author)
        case .failure(let error):
            return .failure(error)
        }
    }
}
