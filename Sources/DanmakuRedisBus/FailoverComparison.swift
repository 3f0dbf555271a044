// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// When a room's latest stream entries are to be compared with what a push node passed on at
/// their seqs (`RedisFeeds.verifyRecent`), and what the comparisons found.
///
/// After a resubscription or a counter found behind, a room active before the failover is
/// compared at once and again a little later, for a comment a failover numbered again whose
/// publish never came. A comment passed on that both comparisons find missing from the stream,
/// its retraction untold, was lost with the failover and is named lost once.
struct FailoverComparison {
    /// When a comment was last passed on (a room quiet since before a failover lost nothing).
    private var lastPassed: NIODeadline?
    /// When the next comparisons are due: at once and again a little later.
    private var due: [NIODeadline] = []
    /// A comparison's read is on its way.
    private var running = false
    /// Comments the first comparison after a failover found missing from the stream: named
    /// lost only if the second still finds them missing, their retraction still untold (a
    /// retraction's publish may lag behind the comparison's read).
    private var suspects: [(seq: UInt64, id: String)] = []
    /// The comments this node named lost (their ids, the latest `PassedSeqs.remembered`): the
    /// retraction it records for each comes back by pub/sub, and is not told a second time.
    private var namedLost: [String] = []

    /// Stream entries compared after a failover: more than one WAIT timeout's worth of a busy room.
    static let verifiedEntries = 64
    /// A room that passed nothing on for this long before a failover lost nothing to it.
    static let activeWithin = TimeAmount.seconds(10)
    /// The second comparison, for a comment stored on the new master a little after the first.
    static let verifyAgainAfter = TimeAmount.seconds(2)

    /// Comments were passed on at `now`.
    mutating func passedOn(now: NIODeadline) {
        lastPassed = now
    }

    /// A resubscription or a counter found behind: the room is compared at once and again a
    /// little later, if it passed something on recently.
    mutating func schedule(now: NIODeadline) {
        guard let last = lastPassed, now - last < Self.activeWithin else { return }
        due = [now, now + Self.verifyAgainAfter]
    }

    /// Starts the comparison due by `now`, unless one is running; whether it started.
    mutating func start(now: NIODeadline) -> Bool {
        guard !running, let first = due.first, first <= now else { return false }
        due.removeFirst()
        // The second keeps its distance from the first, however long the first waited.
        if let next = due.first { due[0] = max(next, now + Self.verifyAgainAfter) }
        running = true
        return true
    }

    /// The comparison's read failed, or the numbering started over: nothing was compared.
    mutating func abandon() {
        running = false
    }

    /// Ends the comparison that found `missing` (comments passed on that the stream does not
    /// hold, their retraction untold): the first only suspects them; the second names lost
    /// those the first found missing too, and returns them.
    mutating func finish(missing: [(seq: UInt64, id: String)]) -> [(seq: UInt64, id: String)] {
        running = false
        guard due.isEmpty else {
            suspects = missing
            return []
        }
        // The second comparison: lost what the first found missing too.
        let lost = missing.filter { candidate in suspects.contains { $0.seq == candidate.seq && $0.id == candidate.id } }
        name(lost)
        suspects = []
        return lost
    }

    /// Notes the comments `lost` names, so that their recorded retraction is not told again.
    mutating func name(_ lost: [(seq: UInt64, id: String)]) {
        guard !lost.isEmpty else { return }
        namedLost.append(contentsOf: lost.map(\.id))
        let extra = namedLost.count - Int(truncatingIfNeeded: PassedSeqs.remembered)
        if extra > 0 { namedLost.removeFirst(extra) }
    }

    /// Whether this node named comment `id` lost (and told its viewers then).
    func named(_ id: String) -> Bool {
        namedLost.contains(id)
    }
}
