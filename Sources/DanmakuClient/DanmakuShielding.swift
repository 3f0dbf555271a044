// Danmaku — a live-stream bullet-comment service.

/// Shielding, as the server weighs comments (docs/PROTOCOL.md, "Shielding"): every comment weighs
/// 1 to 10, and a shielding level L hides those that weigh less than L.
public enum DanmakuShielding {
    /// Every weight, and every shielding level (1 shows everything).
    public static let levels = 1...10

    /// `level` held to `levels`.
    public static func level(_ level: Int) -> Int { min(max(level, levels.lowerBound), levels.upperBound) }

    /// A comment's weight now: the weight it was accepted with (`accepted`; for a comment without
    /// one, its author's standing: 8 for staff, an author with a `role`; 2 anonymous, ids
    /// `anon-…`; 5 anyone else) plus one per doubling of its likes (at most 4 more), at most 10.
    public static func weight(accepted: Int?, author: DanmakuComment.Author, likes: Int) -> Int {
        let standing = author.role != nil ? 8 : author.id.hasPrefix("anon-") ? 2 : 5
        let base = accepted.flatMap { levels.contains($0) ? $0 : nil } ?? standing
        // floor(log2(likes + 1)), from the bit length of a count held under 2^16.
        let count = UInt32(clamping: max(0, min(likes, 1 << 16))) + 1
        return min(levels.upperBound, base + min(4, 31 - count.leadingZeroBitCount))
    }
}

extension DanmakuComment {
    /// Its weight (`DanmakuShielding.weight`) before any like. A notice weighs the most: shielding
    /// never hides one.
    public var currentWeight: Int {
        kind == "notice" ? DanmakuShielding.levels.upperBound : DanmakuShielding.weight(accepted: weight, author: user, likes: 0)
    }
}

extension DanmakuVideoComment {
    /// Its weight now, with its likes (`DanmakuShielding.weight`).
    public var currentWeight: Int { DanmakuShielding.weight(accepted: weight, author: user, likes: likes ?? 0) }
}
