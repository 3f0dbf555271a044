// Danmaku — a live-stream bullet-comment service.

import DanmakuCore

/// Merged repeats: in a batch, viewer comments whose text is the same once normalized ("666",
/// "６６６", "6 6 6") are sent once, as the first of them, with the seqs of the others.
///
/// Notices and comments of the room's staff are never merged. The seqs the kept comment stands
/// for go with the batch (`"merged":[[first, other, …]]`), so a client still accounts for every seq
/// and a resume after the batch misses nothing and repeats nothing.
enum RepeatMerger {
    /// The comments to send, in seq order, and for each kept comment that stands for others its
    /// group: its own seq first, then the seqs merged into it, ascending. No groups: nothing
    /// repeated, and `kept` is `comments`.
    static func merge(_ comments: [EncodedComment]) -> (kept: [EncodedComment], groups: [[UInt64]]) {
        guard comments.count > 1 else { return (comments, []) }
        var kept: [EncodedComment] = []
        kept.reserveCapacity(comments.count)
        // Normalized text → the index of its group in `groups`.
        var groupOfText: [String: Int] = [:]
        var groups: [[UInt64]] = []
        for comment in comments {
            guard !comment.isPriority, let text = try? comment.decoded().text else {
                kept.append(comment)
                continue
            }
            let key = TextNormalizer.key(text)
            if let group = groupOfText[key] {
                groups[group].append(comment.seq)
            } else {
                groupOfText[key] = groups.count
                groups.append([comment.seq])
                kept.append(comment)
            }
        }
        let repeated = groups.filter { $0.count > 1 }
        return repeated.isEmpty ? (comments, []) : (kept, repeated)
    }
}
