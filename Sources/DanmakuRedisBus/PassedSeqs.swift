// Danmaku — a live-stream bullet-comment service.

import DanmakuCore

/// Which comment a push node passed on at each of a room's latest seqs, or that it skipped the
/// seq (history did not hold it: withdrawn or retracted).
///
/// A seq arriving a second time is normally the same comment twice (its publish and a read-back).
/// After a failover it may be another one: a promoted replica that never received the last few
/// comments numbers the next ones with their seqs. That comment can no longer come to viewers in
/// seq order, since they were sent the seq's first holder or moved past it, so the push node tells
/// them a `gap` for it instead of dropping it in silence (`BusSubscriber.renumbered`).
struct PassedSeqs {
    /// 16 bytes, so a room that remembers 256 seqs holds 4 KB.
    private struct Slot {
        var seq: UInt64
        /// The id's hash (this process's, never 0), or 0 when the seq was skipped.
        var id: UInt32
    }

    /// Seqs remembered: far more than a failover loses (the comments of one WAIT timeout).
    static let remembered: UInt64 = 256

    /// Made on the first use: most rooms never see a seq twice.
    private var slots: [Slot] = []

    /// Comment `comment` was passed on at its seq (or told as its new holder).
    mutating func passed(_ comment: EncodedComment) {
        // One whose id cannot be read is not judged later (nothing to compare with).
        guard let id = Self.hash(of: comment) else { return }
        remember(Slot(seq: comment.seq, id: id))
    }

    /// The seqs of `range` that nothing was passed on at were skipped (a read of history found
    /// nothing there). A range longer than what is remembered is left alone.
    mutating func skipped(_ range: ClosedRange<UInt64>) {
        guard range.upperBound - range.lowerBound < Self.remembered else { return }
        for seq in range where slot(of: seq)?.seq != seq {
            remember(Slot(seq: seq, id: 0))
        }
    }

    /// What a comment arriving for a seq already passed is.
    enum Arrival: Equatable {
        /// The comment passed at its seq, again (its publish and a read-back), or a seq no longer
        /// remembered: dropped.
        case copy
        /// Another comment than the one passed at its seq: a failover numbered it again.
        case anotherComment
        /// A comment at a seq that was skipped. Read from the stream, history holds it there (a
        /// failover numbered it again); by pub/sub, it may be a late copy of the comment that was
        /// taken back, so it is only told once the stream is read.
        case atSkippedSeq
    }

    /// Which `Arrival` `comment` is; another comment is remembered as the seq's holder, so its
    /// next copy is a copy.
    mutating func classify(_ comment: EncodedComment) -> Arrival {
        guard comment.seq > 0, let held = slot(of: comment.seq), held.seq == comment.seq, let id = Self.hash(of: comment), held.id != id else {
            return .copy
        }
        if held.id == 0 { return .atSkippedSeq }
        remember(Slot(seq: comment.seq, id: id))
        return .anotherComment
    }

    private func slot(of seq: UInt64) -> Slot? {
        slots.isEmpty ? nil : slots[Self.index(of: seq)]
    }

    private mutating func remember(_ slot: Slot) {
        if slots.isEmpty { slots = Array(repeating: Slot(seq: 0, id: 0), count: Int(truncatingIfNeeded: Self.remembered)) }
        slots[Self.index(of: slot.seq)] = slot
    }

    /// The comment's id hashed to 32 bits (1 and up; 0 marks a skipped seq), or nil without one.
    /// Two ids that collide are taken for the same comment: a renumbered one is then dropped as
    /// a duplicate, as it was before this check existed (one in four billion).
    private static func hash(of comment: EncodedComment) -> UInt32? {
        guard let id = comment.commentID else { return nil }
        return max(1, UInt32(truncatingIfNeeded: id.hashValue))
    }

    private static func index(of seq: UInt64) -> Int {
        Int(truncatingIfNeeded: seq % remembered)
    }
}
