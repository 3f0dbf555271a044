// Danmaku — a live-stream bullet-comment service.

/// A comment's weight, 1 to 10, for shielding: a viewer's shielding level L (1–10) hides every
/// comment that weighs less than L. A comment is weighed once, when it is accepted, and carries
/// that number in its JSON (`weight`), so history, segments, live frames and clients read the
/// same one; its likes then add to it wherever they are known (a segment's `?minWeight=`, the page,
/// the client libraries):
///
/// - standing: 8 for the room's staff (an author with a role); 2 for an anonymous author (open
///   mode, ids `anon-…`); for anyone else signed in, 1 + the token's `level` claim (0–6, so 1 to
///   7) when the site issues one, else 5;
/// - record: minus what the author's recent record in the room takes off (`AuthorRecords`:
///   reported comments staff removed, a ban), 0 to `maxPenalty`; the accepted weight is the
///   standing less the record, at least 1;
/// - reception: 1 more for each doubling of its likes (1 like: +1, 3: +2, 7: +3, 15 or more: +4);
/// - at most 10.
///
/// A comment stored before weights were (no `weight`, or one outside 1–10) is weighed by its
/// standing alone, as it was then.
public enum CommentWeight {
    /// Every weight (and every shielding level).
    public static let range = 1...10
    /// The levels a token's `level` claim may name (a Bilibili-style user level, LV0 to LV6).
    public static let levels = 0...6
    /// The most an author's record takes off their standing.
    public static let maxPenalty = 5

    /// What an author's standing is worth before their record and the comment's likes.
    public static func standing(of author: CommentAuthor) -> Int {
        if author.role != nil { return 8 }
        if author.id.hasPrefix("anon-") { return 2 }
        if let level = author.level, levels.contains(level) { return 1 + level }
        return 5
    }

    /// The weight a comment by `author` is accepted with, `penalty` (0 to `maxPenalty`; anything
    /// else is held to that) taken off their standing.
    public static func accepted(author: CommentAuthor, penalty: Int) -> Int {
        max(range.lowerBound, standing(of: author) - min(max(penalty, 0), maxPenalty))
    }

    /// A comment's weight now: the weight it was accepted with (held to `range`) plus what
    /// `likes` likes add.
    public static func of(accepted weight: Int, likes: Int) -> Int {
        let accepted = min(max(weight, range.lowerBound), range.upperBound)
        // floor(log2(likes + 1)), from the bit length of a count already held under 2^16.
        let count = UInt32(clamping: max(0, min(likes, 1 << 16))) + 1
        let reception = min(4, 31 - count.leadingZeroBitCount)
        return min(range.upperBound, accepted + reception)
    }

    /// The weight of a comment by `author` with `likes` likes that carries no weight of its own
    /// (stored before weights were): its author's standing plus its likes.
    public static func of(author: CommentAuthor, likes: Int) -> Int {
        of(accepted: standing(of: author), likes: likes)
    }

    /// A weight read back from a store or a client: itself when within `range`, else nil (the
    /// comment is then weighed as one without a weight).
    public static func checked(_ weight: Int?) -> Int? {
        weight.flatMap { range.contains($0) ? $0 : nil }
    }
}

extension VideoComment {
    /// Its weight now (`CommentWeight`): the one it was accepted with (or, for a comment without
    /// one, its author's standing) plus its likes.
    public var currentWeight: Int {
        weight.map { CommentWeight.of(accepted: $0, likes: likes ?? 0) } ?? CommentWeight.of(author: user, likes: likes ?? 0)
    }
}
