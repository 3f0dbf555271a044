// Danmaku — a live-stream bullet-comment service.

import DanmakuCore

/// How long an author may take their own comment back (`--recall-seconds`; 0: never), live and
/// video comments alike.
struct RecallWindow: Sendable {
    let seconds: Int

    /// Why `author` may not take back a comment `postedBy` posted at `postedAt` (ms since the
    /// epoch), or nil when they may: it is theirs and younger than `recallSeconds`. Live and video
    /// comments alike.
    func refusal(by author: CommentAuthor, of postedBy: String, postedAt: Int64) -> DanmakuError? {
        let window = seconds
        guard window > 0, postedBy == author.id else { return .notYourComment }
        // A stored `ts` so far off that the age overflows is past any window.
        let (ageMilliseconds, overflow) = currentTimeMillis().subtractingReportingOverflow(postedAt)
        return !overflow && Double(ageMilliseconds) <= Double(window) * 1000 ? nil : .recallExpired(seconds: window)
    }
}
