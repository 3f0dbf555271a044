// Danmaku — a live-stream bullet-comment service.

import DanmakuCore

/// Where a video's comment pool is kept: the comments pinned to moments of a recorded video,
/// and who liked each.
public protocol VideoPoolStore: Sendable {
    /// Adds `comments` to the pool of `video`, numbering each with the pool's next seq (their
    /// own seq is ignored). A comment whose id is in the pool already is skipped, so publishing
    /// a stream twice adds nothing. Returns the comments added, numbered.
    ///
    /// Posts and published comments have an allowance of `limit` each, so what viewers post
    /// never blocks a publish: posts are refused once the pool holds `limit` comments beyond
    /// those ever published to it, a publish once more than `limit` would have been published.
    /// Throws `VideoPoolFull` past the allowance and `VideoPoolMissing` for a post that may not
    /// start a pool to a video that has none; nothing is added then.
    func add(_ comments: [VideoComment], video: VideoID, limit: Int, origin: VideoCommentOrigin) async throws -> [VideoComment]

    /// At most `limit` comments of segment `segment` of the pool (`VideoSegment.offsets(of:)`),
    /// each with its like count, in offset order (seq order among equal offsets). Past `limit`,
    /// those of highest `VideoComment.rank` are kept: the store keeps each segment ordered by
    /// rank, so a read costs what it returns, not what the segment holds.
    func comments(video: VideoID, segment: Int64, limit: Int) async throws -> [VideoComment]

    /// The pool's first `limit` comments in offset order (seq order among equal offsets), each
    /// with its like count: the whole pool, for an export. Empty when there is no pool. Where
    /// `limit` cuts between comments of one offset, which of them are kept is the store's choice.
    func allComments(video: VideoID, limit: Int) async throws -> [VideoComment]

    /// Comment `id` of the pool with its like count; nil when the pool has none.
    func comment(video: VideoID, id: String) async throws -> VideoComment?

    /// `user` likes comment `id`: its count after, and whether the like was new (each user
    /// counts once). Nil when the pool has no such comment.
    func like(video: VideoID, id: String, user: String) async throws -> (count: Int, added: Bool)?

    /// Takes comment `id` out of the pool; whether it was there.
    func remove(video: VideoID, id: String) async throws -> Bool
}

/// Where comments added to a video's pool come from.
public enum VideoCommentOrigin: Sendable, Equatable {
    /// Posted to the video: counted against the posts' allowance. Only the video's staff may
    /// start a pool (`startsPool`), so a viewer cannot make pools up, and a stream published later
    /// as a video of that name never meets what viewers posted.
    case post(startsPool: Bool)
    /// A finished stream published as the video: starts the pool when needed, counted apart.
    case published
}

/// A post to a video that has no pool, from someone who may not start one.
public struct VideoPoolMissing: Error, Sendable, Equatable {
    public init() {}
}

/// A pool refused comments that would take it past its limit.
public struct VideoPoolFull: Error, Sendable, Equatable {
    /// The most comments the pool may hold.
    public var limit: Int

    public init(limit: Int) {
        self.limit = limit
    }
}
