// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import Logging
import NIOCore

/// One read from history of seqs a room has been missing for the reorder timeout, and what its
/// answer means for the room.
///
/// The bus lost their publish (a subscription moving in a failover, a partition), not the
/// comments, which were stored before their 201. What history holds is passed on in order; what
/// it does not hold (retracted or withdrawn) is skipped. A history that cannot be read is asked
/// again at the next sweep, and past `maxGapWait` the viewers are told `gap` instead of waiting
/// for ever.
struct GapRead {
    /// How long a gap may wait for a history that cannot be read (the node cut off from Redis)
    /// before its viewers are told `gap` and the comments behind it go out.
    static let maxGapWait = TimeAmount.seconds(30)
    /// The most seqs one read of a gap asks history for.
    static let maxGapRead = 500

    /// The seqs missing.
    let missing: ClosedRange<UInt64>
    /// The comments the read asks for: at most `maxGapRead` (a longer gap takes a read per sweep).
    let limit: Int

    init(_ missing: ClosedRange<UInt64>) {
        self.missing = missing
        self.limit = Int(clamping: min(missing.upperBound - missing.lowerBound + 1, UInt64(clamping: Self.maxGapRead)))
    }

    /// The read asks for the comments after this seq.
    var since: UInt64 { max(missing.lowerBound, 1) - 1 }

    /// Passes on to `room` what the read's answer holds, or tells its viewers `gap` once history
    /// has been unreadable for `maxGapWait`; true when comments became ready to flush.
    func apply(_ result: Result<HistorySnapshot, any Error>, to room: LoopRoom, now: NIODeadline, logger: Logger) -> Bool {
        var ready = false
        switch result {
        case .success(let snapshot):
            // Seqs history no longer holds (trimmed while this node was cut off): told as a
            // gap, never skipped in silence.
            if snapshot.firstAvailableSeq > missing.lowerBound {
                let trimmed = missing.lowerBound...min(snapshot.firstAvailableSeq - 1, missing.upperBound)
                if room.declareGap(trimmed, now: now) { ready = true }
            }
            let found = snapshot.comments.filter { missing.contains($0.seq) }
            if room.receive(found, now: now) { ready = true }
            // History has nothing else up to where this read reached: a full read reached its
            // last comment, a short one the end of the gap.
            let reached = snapshot.comments.count < limit ? missing.upperBound : min(snapshot.comments.last?.seq ?? 0, missing.upperBound)
            if reached >= missing.lowerBound, room.skip(missing.lowerBound...reached, now: now) { ready = true }
            logger.notice("missing seqs read from history", metadata: [
                "room": "\(room.id)", "from": "\(missing.lowerBound)", "to": "\(missing.upperBound)", "found": "\(found.count)",
            ])
        case .failure(let error):
            guard room.heldFor(now: now) >= Self.maxGapWait else { return false }
            ready = room.declareGap(missing, now: now)
            logger.warning("missing seqs declared a gap: history unreadable", metadata: [
                "room": "\(room.id)", "from": "\(missing.lowerBound)", "to": "\(missing.upperBound)", "error": "\(error)",
            ])
        }
        return ready
    }
}
