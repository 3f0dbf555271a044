// Danmaku — a live-stream bullet-comment service.

/// A plain `comments` batch that spans several reads, read where each read lies rather than
/// gathered into a buffer of its own.
///
/// A frame too large for one read used to be copied whole; at a hot room's 2 GB/s that copy (and
/// the zeroed pages of each new buffer) cost the bench more than the kernel's own copy, and a
/// bench that falls behind gets ever larger batches. Now:
/// - a viewer that checks only batch boundaries keeps the batch's head (up to its first seq) and
///   its end from the last `"seq":` a read held, and drops the bytes between;
/// - a viewer that checks every comment checks the whole comments of each read in place, and
///   carries only the one a read cuts, until the next read completes it.
/// Batches that need all their comments at once (a budget's `shed`, merged repeats) are gathered
/// as before.
struct SkimmedFrame {
    private enum Check {
        /// The payload up to and including the first comment's seq, and the bytes since the last
        /// `"seq":` a read held (with any key a read cut, whole once the next read comes).
        case boundaries(head: [UInt8], tail: [UInt8])
        /// The bytes from the last `"seq":` seen on: a comment that a read cut.
        case everyComment(carry: [UInt8])
    }

    let payloadLength: Int
    private var check: Check
    /// Payload bytes seen so far.
    private var seen = 0

    /// Starts reading the frame whose first payload bytes are `payloadStart`, or nil when it must
    /// be gathered whole: not a plain batch, or too little of it here to tell.
    init?(payloadLength: Int, payloadStart: UnsafeRawBufferPointer, everyComment: Bool, seqs: inout SeqCheck, stats: LoopStats) {
        guard payloadStart.count < payloadLength, let headLength = BatchScanner.plainBatchHeadLength(payloadStart) else { return nil }
        self.payloadLength = payloadLength
        if everyComment {
            check = .everyComment(carry: [])
        } else {
            check = .boundaries(head: Array(payloadStart.prefix(headLength)), tail: [])
        }
        take(payloadStart, seqs: &seqs, stats: stats)
    }

    /// Payload bytes still to come.
    var remaining: Int { payloadLength - seen }

    /// Takes the next bytes of the payload (at most `remaining`).
    mutating func take(_ bytes: UnsafeRawBufferPointer, seqs: inout SeqCheck, stats: LoopStats) {
        switch check {
        case .boundaries(let head, var tail):
            check = .boundaries(head: head, tail: [])
            if let lastKey = BatchScanner.lastCommentKey(in: bytes) {
                tail = Array(bytes[lastKey...])
            } else {
                tail.append(contentsOf: bytes)
            }
            check = .boundaries(head: head, tail: tail)
        case .everyComment(var carry):
            check = .everyComment(carry: [])
            Self.checkComments(bytes, carry: &carry, atStart: seen == 0, seqs: &seqs, stats: stats)
            check = .everyComment(carry: carry)
        }
        seen += bytes.count
    }

    /// Counts the batch once every byte has come.
    func finish(seqs: inout SeqCheck, stats: LoopStats) {
        stats.totals.bytes += UInt64(clamping: payloadLength)
        switch check {
        case .boundaries(let head, let tail):
            // A space between: the head's first seq ends where the tail begins.
            (head + [UInt8(ascii: " ")] + tail).withUnsafeBytes { seqs.batch($0, stats: stats) }
        case .everyComment(let carry):
            stats.totals.frames += 1
            carry.withUnsafeBytes { seqs.comments($0, stats: stats) }
        }
    }

    /// Checks the comments `bytes` completes: the carried one (with what `bytes` holds before its
    /// first `"seq":`, which may also finish a key the last read cut), then those whole in
    /// `bytes`; carries the last, which the next read may continue.
    private static func checkComments(
        _ bytes: UnsafeRawBufferPointer, carry: inout [UInt8], atStart: Bool, seqs: inout SeqCheck, stats: LoopStats
    ) {
        guard let firstKey = BatchScanner.firstCommentKey(in: bytes) else {
            // Nothing here starts a comment: all of it continues the carried one (or, at the
            // start, is the batch's head).
            if !atStart { carry.append(contentsOf: bytes) }
            return
        }
        if !carry.isEmpty {
            carry.append(contentsOf: bytes[..<firstKey])
            carry.withUnsafeBytes { seqs.comments($0, stats: stats) }
        }
        let lastKey = BatchScanner.lastCommentKey(in: bytes) ?? firstKey
        if lastKey > firstKey { seqs.comments(UnsafeRawBufferPointer(rebasing: bytes[firstKey..<lastKey]), stats: stats) }
        carry = Array(bytes[lastKey...])
    }
}
