// Danmaku — a live-stream bullet-comment service.

import DanmakuCore

/// Which comment a push node passed on at each of a room's latest seqs, or that it skipped the
/// seq (history did not hold it: withdrawn or retracted).
///
/// A seq arriving a second time is normally the same comment twice (its publish and a read-back).
/// After a failover it may be another one: a promoted replica that never received the last few
/// comments numbers the next ones with their seqs. That comment can no longer come to viewers in
/// seq order, since they were sent the seq's first holder or moved past it, so the push node tells
/// them a `gap` for it instead of dropping it in silence (`BusSubscriber.renumbered`). And the
/// comments the failover lost, which viewers were shown, are taken off their screens (`gone`).
struct PassedSeqs {
    private struct Slot {
        var seq: UInt64
        /// The comment's id, or nil when the seq was skipped.
        var id: String?
    }

    /// Seqs remembered: more than a failover loses of one room (the comments of one WAIT timeout
    /// in a busy room), and as many as `RedisFeeds` compares with the stream after one.
    static let remembered: UInt64 = 64

    /// Made on the first use (about 4 KB with the ids): most rooms never see a seq twice.
    private var slots: [Slot] = []

    /// Comment `comment` was passed on at its seq (or told as its new holder).
    mutating func passed(_ comment: EncodedComment) {
        // One whose id cannot be read is not judged later (nothing to compare with).
        guard let id = comment.commentID else { return }
        remember(Slot(seq: comment.seq, id: id))
    }

    /// The seqs of `range` that nothing was passed on at were skipped (a read of history found
    /// nothing there). A range longer than what is remembered is left alone.
    mutating func skipped(_ range: ClosedRange<UInt64>) {
        guard range.upperBound - range.lowerBound < Self.remembered else { return }
        for seq in range where slot(of: seq)?.seq != seq {
            remember(Slot(seq: seq, id: nil))
        }
    }

    /// What a comment arriving for a seq already passed is.
    enum Arrival: Equatable {
        /// The comment passed at its seq, again (its publish and a read-back), or a seq no longer
        /// remembered: dropped.
        case copy
        /// Another comment than the one passed at its seq (`replacing`, its id): a failover
        /// numbered it again, and lost the one passed.
        case anotherComment(replacing: String)
        /// A comment at a seq that was skipped. Read from the stream, history holds it there (a
        /// failover numbered it again); by pub/sub, it may be a late copy of the comment that was
        /// taken back, so it is only told once the stream is read.
        case atSkippedSeq
    }

    /// Which `Arrival` `comment` is; another comment is remembered as the seq's holder, so its
    /// next copy is a copy.
    mutating func classify(_ comment: EncodedComment) -> Arrival {
        guard comment.seq > 0, let held = slot(of: comment.seq), held.seq == comment.seq, let id = comment.commentID, held.id != id else {
            return .copy
        }
        guard let replaced = held.id else { return .atSkippedSeq }
        remember(Slot(seq: comment.seq, id: id))
        return .anotherComment(replacing: replaced)
    }

    /// The comments passed on, by seq: taken before a read of the stream is sent, so that what
    /// the read is compared with was in the stream before it (a comment is stored before it is
    /// published), and one passed while the read is on its way is not judged by it.
    func passedComments() -> [(seq: UInt64, id: String)] {
        slots.compactMap { slot in slot.id.map { (slot.seq, $0) } }
    }

    /// Of `passed` (`passedComments()`, taken before the read), those at seqs from the first of
    /// `latest` (the room's latest stream entries, oldest first) upwards that the stream does not
    /// hold and that are still their seq's holder here: taken out of history since (their
    /// retraction told or on its way), or lost with a failover that promoted a master without
    /// them. Nothing for an empty stream (the room's keys are gone altogether).
    func missing(of passed: [(seq: UInt64, id: String)], comparedWith latest: [EncodedComment]) -> [(seq: UInt64, id: String)] {
        guard let first = latest.first?.seq, !slots.isEmpty else { return [] }
        var held: [UInt64: EncodedComment] = [:]
        for comment in latest { held[comment.seq] = comment }
        return passed.filter { seq, id in
            let slot = slots[Self.index(of: seq)]
            return seq >= first && held[seq]?.hasID(id) != true && slot.seq == seq && slot.id == id
        }.sorted { $0.seq < $1.seq }
    }

    /// Comments named lost: their seqs count as skipped from now on, so each is named once.
    mutating func forget(_ comments: [(seq: UInt64, id: String)]) {
        for (seq, id) in comments {
            let index = Self.index(of: seq)
            if slots[index].seq == seq, slots[index].id == id { slots[index].id = nil }
        }
    }

    private func slot(of seq: UInt64) -> Slot? {
        slots.isEmpty ? nil : slots[Self.index(of: seq)]
    }

    private mutating func remember(_ slot: Slot) {
        if slots.isEmpty { slots = Array(repeating: Slot(seq: 0, id: nil), count: Int(truncatingIfNeeded: Self.remembered)) }
        slots[Self.index(of: slot.seq)] = slot
    }

    private static func index(of seq: UInt64) -> Int {
        Int(truncatingIfNeeded: seq % remembered)
    }
}
