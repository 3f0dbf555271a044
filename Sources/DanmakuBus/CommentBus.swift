// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore

/// Receives the comments published to a room a subscriber has subscribed to.
///
/// Called on an arbitrary thread; comments of one publish call arrive together, in seq order,
/// but separate publishes may arrive out of seq order (push nodes reorder by `seq`).
public protocol BusSubscriber: AnyObject, Sendable {
    /// New comments of `room`.
    func deliver(_ comments: [EncodedComment], room: RoomID)

    /// Comment `id` (`seq`) of `room` was taken back (by a moderator, its author, or because the
    /// bus could not confirm it). Usually its seq stays unused from then on; with `seqReused`
    /// another comment holds that seq (a Redis master that lost the comment in a failover numbered
    /// a new one with it), and only the comment with this `id` goes. `reason` says why, when it
    /// was not taken back by hand (nil: by its author or a moderator).
    func retract(seq: UInt64, id: String, room: RoomID, seqReused: Bool, reason: RetractReason?)

    /// Comments of `room` whose like counts changed.
    func liked(_ likes: [LikeCount], room: RoomID)

    /// Comments of `room` a failover numbered with seqs this subscriber was already given (to
    /// other comments, or skipped as withdrawn): they cannot come in seq order any more, so each
    /// is told to viewers as a `gap` of its seq (history holds it, for a client that asks).
    func renumbered(_ comments: [EncodedComment], room: RoomID)
}

/// Fan-out transport from logic nodes to push nodes.
public protocol CommentBus: Sendable {
    /// Publishes accepted comments of one room. Throws when the bus cannot take them.
    func publish(_ comments: [EncodedComment], room: RoomID) async throws

    /// Starts delivering `room`'s comments to `subscriber`.
    ///
    /// Registration takes effect in call order; the future completes once comments published
    /// after it are guaranteed to be delivered.
    func subscribe(_ room: RoomID, subscriber: any BusSubscriber, on eventLoop: any EventLoop) -> EventLoopFuture<Void>

    /// Stops delivering `room`'s comments to `subscriber`.
    func unsubscribe(_ room: RoomID, subscriber: any BusSubscriber)

    /// Tells the room's subscribers that comment `id` (`seq`) was taken back, and why (`reason`).
    func publishRetraction(seq: UInt64, id: String, room: RoomID, reason: RetractReason?) async throws

    /// Tells the room's subscribers the like counts that changed.
    func publishLikes(_ likes: [LikeCount], room: RoomID) async throws
}

/// What history holds for a room at one moment.
public struct HistorySnapshot: Sendable {
    /// The room's latest seq (0 when nothing was ever posted).
    public var lastSeq: UInt64
    /// The oldest seq history still holds (`lastSeq + 1` when it holds nothing).
    public var firstAvailableSeq: UInt64
    /// The comments asked for, in seq order.
    public var comments: [EncodedComment]
    /// Which numbering the seqs belong to: a room forgotten (idle, evicted, or a server without
    /// an archive restarted) starts a new epoch at seq 1. 0 for a room with no comments.
    public var epoch: Int64
    /// For a resume (`snapshot(…, retracted: true)` with `since`): the comments at or before
    /// `since` (within the history's length of it) that the store remembers were retracted or
    /// withdrawn, the highest seqs first, at most `RetractedComment.replayed`, so a viewer
    /// resuming from `since` takes them off its screen. A store remembers a room's latest
    /// `RetractedComment.remembered` retractions.
    public var retracted: [RetractedComment]

    public init(lastSeq: UInt64, firstAvailableSeq: UInt64, comments: [EncodedComment], epoch: Int64 = 0, retracted: [RetractedComment] = []) {
        self.lastSeq = lastSeq
        self.firstAvailableSeq = firstAvailableSeq
        self.comments = comments
        self.epoch = epoch
        self.retracted = retracted
    }
}

/// A comment taken back (retracted or withdrawn), as history remembers it for resuming viewers.
public struct RetractedComment: Sendable, Equatable {
    public var seq: UInt64
    public var id: String
    /// Why it was taken back, when not by hand (`retract`'s `reason`).
    public var reason: RetractReason?

    public init(seq: UInt64, id: String, reason: RetractReason? = nil) {
        self.seq = seq
        self.id = id
        self.reason = reason
    }

    /// Retractions remembered per room.
    public static let remembered = 1000
    /// Retractions a resume brings at most (each is a frame to the resuming viewer).
    public static let replayed = 100

    /// Whether a viewer resuming from `since` may still show the comment: at or before `since`,
    /// and not more than a history's length before it.
    public func isBefore(_ since: UInt64, within historyCapacity: Int) -> Bool {
        seq <= since && since - seq < UInt64(clamping: historyCapacity)
    }
}

/// An append whose outcome is unknown: the store may have run it (its answer was lost or came
/// too late). The comment may be in history; whoever asked must not take back what admitting it
/// counted against a retry (the duplicate window), or a retry would store it twice.
/// A step that admitted a post and stored it, then took it back (its replicas did not confirm it
/// in time: `AppendingModeration.admitAndAppend`): what admitting it counted was counted, and may
/// be given back; the post was not kept.
public struct AdmittedThenWithdrawn: Error, CustomStringConvertible {
    public let reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}

public struct AppendOutcomeUnknown: Error, CustomStringConvertible {
    /// What went wrong, for the log.
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { "append outcome unknown: \(reason)" }
}

/// Per-room sequence numbers and bounded history: where accepted comments are kept.
public protocol CommentLog: Sendable {
    /// Assigns the room's next seq to a comment and stores it; returns it numbered.
    ///
    /// `unnumbered` is the comment's JSON without `seq` (`Comment.unnumberedJSON`); the stored
    /// bytes are `EncodedComment(numbering:seq:room:)` of it. The comment is stored when this returns.
    func append(room: RoomID, unnumbered: ByteBuffer) async throws -> EncodedComment

    /// Comments after `since` (the first `limit`), or the latest `limit` when `since` is nil;
    /// with `retracted` and `since` (a viewer's resume), also the comments before it that were
    /// taken back (`HistorySnapshot.retracted`).
    ///
    /// Future-based so a push loop can read history without leaving its EventLoop.
    func snapshot(room: RoomID, since: UInt64?, limit: Int, retracted: Bool, on eventLoop: any EventLoop) -> EventLoopFuture<HistorySnapshot>

    /// Comment `id` of the room (a comment, not a notice) if history holds it. Found inside the
    /// store, newest first (the comment asked for is usually recent), without copying history out.
    func comment(room: RoomID, id: String) async throws -> EncodedComment?

    /// Removes comment `id` from the room's history; its seq, or nil when history does not hold it.
    /// The seq is not reused: history has a hole there from now on. A store that publishes the
    /// retraction as it removes the comment (Redis) publishes it with `reason`.
    func retract(room: RoomID, id: String, reason: RetractReason?) async throws -> UInt64?
}

extension CommentLog {
    /// Comments after `since` (the first `limit`), or the latest `limit` when `since` is nil.
    public func snapshot(room: RoomID, since: UInt64?, limit: Int, on eventLoop: any EventLoop) -> EventLoopFuture<HistorySnapshot> {
        snapshot(room: room, since: since, limit: limit, retracted: false, on: eventLoop)
    }
}

extension EncodedComment {
    /// Whether this is one of the comments `retracted` names (by seq and id: after a failover
    /// another comment may hold a retracted seq).
    public func isAmong(_ retracted: [RetractedComment]) -> Bool {
        retracted.contains { $0.seq == seq && hasID($0.id) }
    }
}
