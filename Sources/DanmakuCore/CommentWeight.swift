// Danmaku — a live-stream bullet-comment service.

/// A comment's weight, 1 to 10, for shielding: a viewer's shielding level L (1–10) hides every
/// comment that weighs less than L. The weight is worked out from what every copy of a comment
/// carries (its author and its likes), so the server (a segment's `?minWeight=`) and the page
/// (`/screen.js`) reach the same number without storing one:
///
/// - standing: 8 for the room's staff (an author with a role), 2 for an anonymous author (open
///   mode, ids `anon-…`), 5 for anyone else signed in;
/// - reception: 1 more for each doubling of its likes (1 like: +1, 3: +2, 7: +3, 15 or more: +4);
/// - at most 10.
public enum CommentWeight {
    /// Every weight (and every shielding level).
    public static let range = 1...10

    /// The weight of a comment by `author` with `likes` likes.
    public static func of(author: CommentAuthor, likes: Int) -> Int {
        let standing = author.role != nil ? 8 : author.id.hasPrefix("anon-") ? 2 : 5
        // floor(log2(likes + 1)), from the bit length of a count already held under 2^16.
        let count = UInt32(clamping: max(0, min(likes, 1 << 16))) + 1
        let reception = min(4, 31 - count.leadingZeroBitCount)
        return min(range.upperBound, standing + reception)
    }
}

extension VideoComment {
    /// Its weight (`CommentWeight`).
    public var weight: Int { CommentWeight.of(author: user, likes: likes ?? 0) }
}
