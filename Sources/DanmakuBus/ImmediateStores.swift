// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore

/// A log that numbers and stores a record at once, without waiting on anything outside the
/// process (the embedded bus's memory): a post to it can be answered on the connection's event
/// loop, with no task and no hop to the concurrency pool (`ImmediatePosting`).
///
/// A log that waits for a disk or a server (the archive, Redis) is not one: its append stays
/// `CommentLog.append`.
public protocol ImmediateCommentLog: CommentLog {
    /// `append`, done before it returns; it cannot fail.
    func appendNow(room: RoomID, unnumbered: ByteBuffer) -> EncodedComment
}

/// A bus that hands a publish to its subscribers before it returns (in one process).
public protocol ImmediateCommentBus: CommentBus {
    /// `publish`, done before it returns; it cannot fail.
    func publishNow(_ comments: [EncodedComment], room: RoomID)
}

/// Moderation state held in this process, which admits a post at once.
public protocol ImmediateModeration: ModerationStore {
    /// `admit`, answered before it returns; it cannot fail.
    func admitNow(user: String, room: RoomID, styled: Bool) -> DanmakuError?
}
