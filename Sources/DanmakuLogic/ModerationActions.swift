// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Foundation
import NIOCore

/// Taking comments back: a moderator's retraction, an author's recall of their own comment, and
/// who counts as a moderator of a room.
public struct ModerationActions: Sendable {
    let authenticator: any PostAuthenticator
    let publisher: RecordPublisher
    /// The log, where recall looks the comment up by id.
    let log: any CommentLog
    /// Recall's lookup is an expensive read, charged here.
    let reads: ReadBudget
    let recallWindow: RecallWindow

    /// The user `token` names if it may moderate `room` (nil: node-wide), or why not.
    public func moderator(token: String?, room: RoomID?) async -> Result<CommentAuthor, DanmakuError> {
        await authenticator.moderator(token: token, room: room)
    }

    /// Takes comment `id` back: out of history, and off the screens of the room's viewers.
    /// Returns its seq, or `not_found` when history does not hold it (too old, or unknown). The
    /// caller has checked that the asker moderates the room.
    public func retract(room: RoomID, id: String) async -> Result<UInt64, DanmakuError> {
        await publisher.retract(room: room, id: id)
    }

    /// An author takes their own comment back within `recallSeconds` of posting it, through the
    /// path a moderator's retraction takes (out of history, a `retract` to viewers). The comment
    /// is looked up by id in the store (one old enough to have left history is past any recall
    /// window a room could use anyway); the lookup is charged to the address's read budget.
    public func recall(room: RoomID, id: String, token: String?, clientAddress: String, on eventLoop: any EventLoop) async -> Result<UInt64, DanmakuError> {
        guard recallWindow.seconds > 0 else { return .failure(.notYourComment) }
        guard EncodedComment.isPlausibleID(id) else { return .failure(.notFound) }
        let author: CommentAuthor
        switch await authenticator.author(token: token, room: room, clientAddress: clientAddress) {
        case .success(let who): author = who
        case .failure(let error): return .failure(error)
        }
        // A lookup by an id that is not there walks the room's whole history: budgeted like any read.
        if let spent = reads.admit(clientAddress: clientAddress) { return .failure(spent) }
        let comment: Comment
        do {
            guard let found = try await log.comment(room: room, id: id) else { return .failure(.notFound) }
            comment = try found.decoded()
        } catch {
            return .failure(.busUnavailable(String(describing: error)))
        }
        if let refusal = recallWindow.refusal(by: author, of: comment.user.id, postedAt: comment.ts) { return .failure(refusal) }
        return await retract(room: room, id: id)
    }
}
