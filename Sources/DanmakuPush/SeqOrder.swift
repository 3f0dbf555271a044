// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore

/// Puts one room's comments back in seq order on one loop: a comment that arrives ahead of a
/// missing seq waits for it, a withdrawn seq is skipped instead of waited for, and a gap that stays
/// open past the reorder timeout is read from history (`PushShard.repairGap`): what history holds
/// is passed on, what it does not (retracted, withdrawn) is skipped.
struct SeqOrder {
    /// The next seq to pass on, or nil until the first snapshot tells where the room stands.
    private(set) var next: UInt64?
    /// Comments that arrived ahead of a missing seq (or before `next` was known).
    private var held: [UInt64: EncodedComment] = [:]
    /// Since when a comment has been held.
    private var heldSince: NIODeadline?
    /// Seqs taken back before they reached this loop (a comment the bus withdrew because too few
    /// replicas confirmed it): the order skips them instead of waiting out the reorder timeout.
    private var withdrawn: Set<UInt64> = []

    /// Bounds `withdrawn` (retractions of seqs far ahead are not worth remembering).
    static let maxWithdrawn = 1024

    /// Takes comments from the bus; appends what is now in order to `ready`.
    mutating func receive(_ comments: [EncodedComment], into ready: inout [EncodedComment], now: NIODeadline) {
        for comment in comments {
            if let next, comment.seq < next { continue }  // already passed on
            if withdrawn.contains(comment.seq) { continue }
            held[comment.seq] = comment
        }
        release(into: &ready, now: now)
    }

    /// The first snapshot fixed where this loop's copy of the room starts: after `lastSeq`.
    /// Nothing changes once the start is known.
    mutating func start(after lastSeq: UInt64, into ready: inout [EncodedComment], now: NIODeadline) {
        guard next == nil else { return }
        next = lastSeq + 1
        held = held.filter { $0.key > lastSeq }
        release(into: &ready, now: now)
    }

    /// The seqs missing before the oldest held comment, when they have been missing for
    /// `timeout` (a publish the bus lost: the comments are still in history); nil otherwise.
    func stalledGap(now: NIODeadline, timeout: TimeAmount) -> ClosedRange<UInt64>? {
        guard let since = heldSince, now - since >= timeout, let next, let oldest = held.keys.min(), oldest > next else { return nil }
        return next...(oldest - 1)
    }

    /// How long the oldest held comment has waited.
    func heldFor(now: NIODeadline) -> TimeAmount { heldSince.map { now - $0 } ?? .zero }

    /// Stops waiting for the seqs up to `last` that have not come (history did not hold them, or
    /// could not be read for too long): the held comments up to `last` are passed on in order,
    /// then what follows them.
    mutating func skip(through last: UInt64, into ready: inout [EncodedComment], now: NIODeadline) {
        guard let next, last >= next else { return }
        for seq in held.keys.filter({ $0 <= last }).sorted() {
            if let comment = held.removeValue(forKey: seq) { ready.append(comment) }
        }
        withdrawn = withdrawn.filter { $0 > last }
        self.next = last + 1
        release(into: &ready, now: now)
    }

    /// Comment `id` (`seq`) was taken back: it is not passed on, and unless `seqReused` (another
    /// comment holds the seq) the seq is not waited for any more.
    mutating func withdraw(seq: UInt64, id: String, seqReused: Bool, into ready: inout [EncodedComment], now: NIODeadline) {
        if held[seq]?.hasID(id) == true { held[seq] = nil }
        guard !seqReused, let next, seq >= next, withdrawn.count < Self.maxWithdrawn else { return }
        withdrawn.insert(seq)
        release(into: &ready, now: now)
    }

    /// Moves the contiguous run starting at `next` from `held` to `ready`.
    private mutating func release(into ready: inout [EncodedComment], now: NIODeadline) {
        guard var seq = next else {
            if !held.isEmpty, heldSince == nil { heldSince = now }
            return
        }
        let first = seq
        while true {
            if let comment = held.removeValue(forKey: seq) {
                ready.append(comment)
            } else if withdrawn.remove(seq) == nil {
                break
            }
            seq += 1
        }
        next = seq
        // Since when the seq now awaited has been missing: the clock starts again whenever the
        // order moves on, so a seq that is merely late is not taken for a lost one.
        heldSince = held.isEmpty ? nil : (seq != first ? now : (heldSince ?? now))
    }
}
