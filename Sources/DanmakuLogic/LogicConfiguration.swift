// Danmaku — a live-stream bullet-comment service.

import DanmakuCore

/// Settings of the logic tier. Defaults are documented once, in README.md.
public struct LogicConfiguration: Sendable {
    /// Most characters of a comment's text after trimming.
    public var maxTextLength = 200
    /// Per user (token subject, or anonymous id in open mode).
    public var userLimit = RateLimit(perSecond: 2, burst: 10)
    /// Per client IP address.
    public var ipLimit = RateLimit(perSecond: 20, burst: 50)
    /// Per room, across all users.
    public var roomLimit = RateLimit(perSecond: 500, burst: 1000)
    /// Expensive reads (history, replay, room stats, socket joins) per client address.
    public var readLimit = RateLimit(perSecond: 20, burst: 100)
    /// Reject or mask comments with blocked words.
    public var filterPolicy = FilterPolicy.reject
    /// The blocked words.
    public var words: [String] = DefaultWordList.words
    /// Seconds during which the same user may not post the same (normalized) text again; 0 disables.
    public var duplicateWindowSeconds = 10.0
    /// Comments kept per room for resume and the history API.
    public var historyCapacity = 1000
    /// Seconds during which an author may take their own comment back (`DELETE` on it with their
    /// token); 0: only moderators may.
    public var recallSeconds = 120
    /// Likes per user, `RATE/BURST` (a like is a cheap write, but one per comment on screen at
    /// most makes sense).
    public var likeLimit = RateLimit(perSecond: 5, burst: 20)
    /// Reports per user, `RATE/BURST`: a viewer reports a few comments in a while, never a stream
    /// of them (past it `429 rate_limited`, scope `reports`).
    public var reportLimit = RateLimit(perSecond: 0.2, burst: 5)
    /// The most comments one six-minute segment of a video serves: past it, those kept are the
    /// privileged ones, then the most liked, then the newest.
    public var videoSegmentCap = 3000
    /// The most comments one video's pool holds; a post past it is refused (`video_full`).
    public var maxVideoComments = 200_000
    /// Seconds an `Idempotency-Key` and its first post's answer are kept.
    public var idempotencyWindowSeconds = 300

    public init() {}
}

/// The word list used when no `--words` file is given: a few common insults and spam phrases.
public enum DefaultWordList {
    /// The default blocked words.
    public static let words = [
        "fuck", "shit", "bitch", "cunt", "asshole",
        "傻逼", "操你妈", "草泥马", "加微信", "代刷",
    ]
}
