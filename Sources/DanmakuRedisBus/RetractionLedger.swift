// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// Which of one room's retractions a push node has told its viewers of, by their number `n`
/// (`RedisScripts.retract`), and which it is missing.
///
/// The numbers normally only grow, and a number seen twice is the same retraction (its publish
/// and its read-back). A failover to a replica that had not received the last few retractions
/// numbers the next ones again from there: a number already seen with another comment's id is a
/// new retraction, and a counter read below what was seen starts the count over from it. Those
/// renumbered while the node's subscription moved are found by reading the latest retractions
/// back after every resubscription (`admit(…, readBack: true)`).
struct RetractionLedger {
    private var numbers: SeqTracker
    /// Retractions numbered up to this one came before the feed started (or its numbering
    /// started over): a read-back of the latest ones does not tell them.
    private var floor: UInt64
    /// The comment id told for each recent number, the oldest first dropped.
    private var ids: [UInt64: String] = [:]
    private var order: [UInt64] = []
    private var oldest = 0

    /// Numbers whose ids are remembered (the capped retraction stream's length).
    static let remembered = RedisScripts.retractionsKept

    /// - Parameter count: the room's retraction counter when the feed started.
    init(count: UInt64) {
        numbers = SeqTracker(frontier: count)
        floor = count
    }

    /// Records retraction `n` of comment `id`; false when it was told before (or, read back,
    /// when it predates the feed).
    mutating func admit(_ n: UInt64, id: String, now: NIODeadline, readBack: Bool = false) -> Bool {
        let new = numbers.see(n, now: now)
        // Told before, whatever the count says now (a count read below what was seen starts the
        // numbers over, and the ones seen come round again).
        if ids[n] == id { return false }
        if !new, readBack, n <= floor, ids[n] == nil { return false }
        remember(n, id: id)
        return true
    }

    /// Whether a retraction of comment `id` is among those remembered (told already).
    func hasTold(id: String) -> Bool {
        ids.values.contains(id)
    }

    /// Learns the room's retraction counter.
    mutating func learn(count: UInt64, now: NIODeadline) {
        if count < numbers.frontier {
            // Numbered anew after a failover: the numbers from here on are other retractions.
            numbers = SeqTracker(frontier: count)
            floor = min(floor, count)
        } else {
            numbers.learn(lastSeq: count, now: now)
        }
    }

    /// The numbers to read back, once they have been missing for `grace`.
    func missing(now: NIODeadline, grace: TimeAmount) -> ClosedRange<UInt64>? {
        numbers.repairRange(now: now, grace: grace)
    }

    /// After reading `range` back: what is still missing was trimmed from the stream.
    mutating func readBack(_ range: ClosedRange<UInt64>, now: NIODeadline) {
        numbers.repaired(range, now: now)
    }

    private mutating func remember(_ n: UInt64, id: String) {
        if ids.updateValue(id, forKey: n) == nil { order.append(n) }
        if order.count - oldest > Self.remembered {
            ids[order[oldest]] = nil
            oldest += 1
            if oldest > Self.remembered {
                order.removeFirst(oldest)
                oldest = 0
            }
        }
    }
}
