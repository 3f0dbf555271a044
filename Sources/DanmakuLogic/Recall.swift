// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Foundation
import NIOCore

extension CommentService {
    /// An author takes their own comment back within `recallSeconds` of posting it, through the
    /// path a moderator's retraction takes (out of history, a `retract` to viewers). The comment
    /// is looked up by id in the store (one old enough to have left history is past any recall
    /// window a room could use anyway); the lookup is charged to the address's read budget.
    public func recall(room: RoomID, id: String, token: String?, clientAddress: String, on eventLoop: any EventLoop) async -> Result<UInt64, DanmakuError> {
        let window = configuration.recallSeconds
        guard window > 0 else { return .failure(.notYourComment) }
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
        if let refusal = recallRefusal(by: author, of: comment.user.id, postedAt: comment.ts) { return .failure(refusal) }
        return await retract(room: room, id: id)
    }

    /// Why `author` may not take back a comment `postedBy` posted at `postedAt` (ms since the
    /// epoch), or nil when they may: it is theirs and younger than `recallSeconds`. Live and video
    /// comments alike.
    func recallRefusal(by author: CommentAuthor, of postedBy: String, postedAt: Int64) -> DanmakuError? {
        let window = configuration.recallSeconds
        guard window > 0, postedBy == author.id else { return .notYourComment }
        // A stored `ts` so far off that the age overflows is past any window.
        let (ageMilliseconds, overflow) = currentTimeMillis().subtractingReportingOverflow(postedAt)
        return !overflow && Double(ageMilliseconds) <= Double(window) * 1000 ? nil : .recallExpired(seconds: window)
    }
}
