// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// A feed's retractions: which it has told (`RetractionLedger`, from the feed's first counter
/// read), and the reads of the room's retraction stream that bring back those its subscription
/// missed, one at a time.
///
/// Numbers missing for a while are read back by range. After every resubscription the latest
/// retractions are read back as well, in case a failover numbered some again while the
/// subscription moved.
struct RetractionReadBack {
    /// A read of the room's retraction stream.
    enum Read {
        /// The latest `latestCount`, after a resubscription.
        case latest
        /// Those numbered in the range, missing for a while.
        case numbered(ClosedRange<UInt64>)
    }

    /// Which of the room's retractions have been passed on; nil until the feed's counter is read.
    private var ledger: RetractionLedger?
    /// A read is on its way.
    private var reading = false
    /// Set when the channel was subscribed again: the latest retractions are read back, in
    /// case a failover numbered some again while the subscription moved.
    private var latestWanted = false

    /// Retractions read back after a resubscription: more than a failover's window renumbers.
    static let latestCount = 100

    /// Whether the feed's counter was read (and its retractions are counted).
    var hasStarted: Bool { ledger != nil }

    /// The feed's counter was read: `count` retractions came before it.
    mutating func start(count: UInt64) {
        ledger = RetractionLedger(count: count)
    }

    /// The channel was subscribed again: the latest retractions are to be read back.
    mutating func readLatestSoon() {
        latestWanted = true
    }

    /// Records retraction `n` of comment `id` (`RetractionLedger.admit`); false when it was told
    /// before. True before the feed started.
    mutating func admit(_ n: UInt64, id: String, now: NIODeadline, readBack: Bool) -> Bool {
        ledger?.admit(n, id: id, now: now, readBack: readBack) ?? true
    }

    /// Whether a retraction of comment `id` is among those remembered (told already).
    func hasTold(id: String) -> Bool {
        ledger?.hasTold(id: id) == true
    }

    /// Learns the room's retraction counter.
    mutating func learn(count: UInt64, now: NIODeadline) {
        ledger?.learn(count: count, now: now)
    }

    /// Whether nothing is being read back, or waits to be: a comparison after a failover then
    /// knows a comment retracted meanwhile as such, not as one the failover lost.
    func isCaughtUp(now: NIODeadline) -> Bool {
        !latestWanted && !reading && ledger?.missing(now: now, grace: .zero) == nil
    }

    /// The read to send now, if any, marked as on its way: the latest retractions after a
    /// resubscription, else the numbers missing for `grace`.
    mutating func nextRead(now: NIODeadline, grace: TimeAmount) -> Read? {
        guard !reading else { return nil }
        if latestWanted {
            reading = true
            latestWanted = false
            return .latest
        }
        guard let range = ledger?.missing(now: now, grace: grace) else { return nil }
        reading = true
        return .numbered(range)
    }

    /// `read` ended: a failed read of the latest is tried again; after a read by range, what is
    /// still missing was trimmed from the stream.
    mutating func finished(_ read: Read, succeeded: Bool, now: NIODeadline) {
        reading = false
        switch read {
        case .latest:
            if !succeeded { latestWanted = true }
        case .numbered(let range):
            if succeeded { ledger?.readBack(range, now: now) }
        }
    }
}
