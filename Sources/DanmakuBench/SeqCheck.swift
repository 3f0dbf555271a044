// Danmaku — a live-stream bullet-comment service.

/// One bench viewer's check of its room's seqs, counted into its loop's totals.
///
/// Every batch must start right after the previous one. With `verifyEveryComment` each comment's
/// seq is checked as well and each comment's latency recorded; without, a batch counts
/// `last - first + 1` comments, which keeps the bench cheap at 20M/s. After a resume, what comes
/// up to the resumed `hello`'s `lastSeq` is history: checked like any batch, but not timed.
struct SeqCheck {
    /// What a `hello` was to the viewer.
    enum Hello {
        /// Its first: it joined at the room's latest seq.
        case joined
        /// One on a resumed connection; `restarted`: it named another epoch, and the room's
        /// numbering started over.
        case resumed(restarted: Bool)
    }

    private let verifyEveryComment: Bool
    /// Highest seq seen; nil until `hello`.
    private(set) var lastSeq: UInt64?
    /// The numbering `lastSeq` belongs to, from `hello` (0: the room had no comment yet).
    private(set) var epoch: UInt64?
    /// Seqs up to this one came from history on a resume: they are checked, but not timed.
    private var replayedThrough: UInt64 = 0

    init(verifyEveryComment: Bool) {
        self.verifyEveryComment = verifyEveryComment
    }

    /// `hello`: the first joins at the room's latest seq (`roomLastSeq`); a resumed connection
    /// keeps the viewer's own, and what comes up to `roomLastSeq` is history.
    mutating func hello(roomLastSeq: UInt64, roomEpoch: UInt64?) -> Hello {
        let seen: Hello
        if lastSeq == nil {
            lastSeq = roomLastSeq
            seen = .joined
        } else {
            // Epoch 0 is a room with no comment yet, whose seqs belong to the numbering that
            // comes next: only a known epoch can have been left behind.
            var restarted = false
            if let epoch, epoch != 0, roomEpoch != epoch {
                // The room started over: this numbering comes from seq 1.
                restarted = true
                lastSeq = 0
            }
            replayedThrough = roomLastSeq
            seen = .resumed(restarted: restarted)
        }
        epoch = roomEpoch ?? epoch
        return seen
    }

    /// A `gap` message: seqs `from...to` will not come.
    mutating func gap(from: UInt64, to: UInt64, stats: LoopStats) {
        // A server's numbers, not trusted: `to` below `from` counts nothing, and the count cannot overflow.
        if to >= from { stats.totals.missing &+= (to - from).addingReportingOverflow(1).partialValue }
        lastSeq = max(lastSeq ?? 0, to)
    }

    /// A `comments` frame's payload.
    mutating func batch(_ payload: UnsafeRawBufferPointer, stats: LoopStats) {
        stats.totals.frames += 1
        guard let expected = lastSeq.map({ $0 &+ 1 }) else { return }
        if let shed = BatchScanner.shed(payload) {
            return accountedBatch(payload, expected: expected, explained: shed.count, lastSeq: shed.lastSeq, shed: true, stats: stats)
        }
        if let merged = BatchScanner.merged(payload) {
            return accountedBatch(payload, expected: expected, explained: merged.count, lastSeq: merged.lastSeq, shed: false, stats: stats)
        }
        if verifyEveryComment {
            comments(payload, stats: stats)
        } else if let (first, last) = BatchScanner.firstAndLastSeq(payload) {
            if first > expected {
                stats.totals.missing &+= first - expected
            } else if first < expected, min(last, expected - 1) >= first {
                stats.totals.duplicated &+= min(last, expected - 1) - first + 1
            }
            // A server's numbers: a batch whose last seq is below its first counts nothing.
            if last >= expected, last >= first {
                stats.totals.deliveries &+= last - max(first, expected) + 1
                lastSeq = last
            }
        }
    }

    /// Checks each comment in `region` (whole comments of a plain batch, from a `"seq":` on) and
    /// records its latency: a batch at once, or one read at a time when it spans several
    /// (`SkimmedFrame`).
    mutating func comments(_ region: UnsafeRawBufferPointer, stats: LoopStats) {
        guard var expected = lastSeq.map({ $0 &+ 1 }) else { return }
        let now = microsecondsNow()
        BatchScanner.forEachComment(region) { seq, stamp in
            // A server's numbers: counted wrapping, so that none can trap the bench.
            if seq == expected {
                expected &+= 1
            } else if seq < expected {
                stats.totals.duplicated += 1
                return
            } else {
                stats.totals.missing &+= seq - expected
                expected = seq &+ 1
            }
            stats.totals.deliveries += 1
            if let stamp, now >= stamp, seq > replayedThrough { stats.totals.latency.record(now - stamp) }
        }
        lastSeq = expected &- 1
    }

    /// A batch that accounts for seqs it does not carry (shed by a display budget, or merged into
    /// a repeated comment): it covers the seqs up to its `lastSeq`, of which it carries some and
    /// explains `explained` (as `shed`, or merged); only what neither covers is missing.
    private mutating func accountedBatch(
        _ payload: UnsafeRawBufferPointer, expected start: UInt64, explained: UInt64, lastSeq last: UInt64, shed: Bool, stats: LoopStats
    ) {
        var received: UInt64 = 0
        var previous = start - 1
        let now = microsecondsNow()
        BatchScanner.forEachComment(payload) { seq, stamp in
            guard seq > previous else {
                stats.totals.duplicated += 1
                return
            }
            previous = seq
            received += 1
            stats.totals.deliveries += 1
            if verifyEveryComment, let stamp, now >= stamp, seq > replayedThrough { stats.totals.latency.record(now - stamp) }
        }
        guard last >= start else { return }
        let covered = last - start + 1
        // `explained` is the server's number: counted wrapping, compared without overflow.
        if shed { stats.totals.shed &+= explained } else { stats.totals.merged &+= explained }
        let accounted = received.addingReportingOverflow(explained)
        if !accounted.overflow, covered > accounted.partialValue { stats.totals.missing &+= covered - accounted.partialValue }
        lastSeq = last
    }
}
