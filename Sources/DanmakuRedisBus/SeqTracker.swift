// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// Which seqs of one room a push node has received from a remote bus, and which it is missing.
///
/// Pub/sub may lose a message (a dropped connection, a logic node that died between storing a
/// comment and publishing its batch), and batches from different logic nodes interleave. The
/// tracker tells apart a seq that is merely late from one that is missing: once `known` (the
/// highest seq seen or read from the room's counter) has stayed above `frontier` for a grace
/// period, the range between them is read from the stream.
struct SeqTracker {
    /// Every seq up to this one has been delivered (or predates the subscription).
    private(set) var frontier: UInt64
    /// Delivered seqs above `frontier + 1`.
    private var ahead: Set<UInt64> = []
    /// The highest seq known to exist.
    private(set) var known: UInt64
    /// Since when `known` has been above `frontier`.
    private(set) var gapSince: NIODeadline?

    /// Most seqs held above a gap before the gap is given up on (bounds memory).
    static let maxAhead = 100_000

    init(frontier: UInt64) {
        self.frontier = frontier
        self.known = frontier
    }

    /// Records `seq`; false when it was delivered before (a duplicate to drop).
    mutating func see(_ seq: UInt64, now: NIODeadline) -> Bool {
        guard seq > frontier, !ahead.contains(seq) else { return false }
        if seq == frontier + 1 {
            frontier = seq
            absorbContiguous()
        } else {
            ahead.insert(seq)
            if ahead.count > Self.maxAhead, let lowest = ahead.min() { skip(through: lowest - 1) }
        }
        known = max(known, seq)
        noteGap(now: now)
        return true
    }

    /// Learns the room's latest seq from its counter.
    mutating func learn(lastSeq: UInt64, now: NIODeadline) {
        known = max(known, lastSeq)
        noteGap(now: now)
    }

    /// The seqs to read from the stream, when a gap has outlasted `grace`.
    func repairRange(now: NIODeadline, grace: TimeAmount) -> ClosedRange<UInt64>? {
        guard let since = gapSince, now - since >= grace else { return nil }
        return (frontier + 1)...known
    }

    /// After reading `range` from the stream: what is still missing there is not in the stream
    /// any more (trimmed), so stop waiting for it.
    mutating func repaired(_ range: ClosedRange<UInt64>, now: NIODeadline) {
        skip(through: range.upperBound)
        noteGap(now: now)
    }

    private mutating func skip(through seq: UInt64) {
        guard seq > frontier else { return }
        frontier = seq
        ahead = ahead.filter { $0 > seq }
        absorbContiguous()
    }

    private mutating func absorbContiguous() {
        // (Bounded: a seq read from Redis may be anything up to UInt64.max.)
        while frontier < UInt64.max, ahead.remove(frontier + 1) != nil { frontier += 1 }
    }

    private mutating func noteGap(now: NIODeadline) {
        gapSince = known > frontier ? (gapSince ?? now) : nil
    }
}
