// Danmaku — a live-stream bullet-comment service.

/// Where a client stands in one room: the last seq it reported and the numbering (epoch) that seq
/// belongs to, which is what a reconnect resumes from (`since`, `epoch`).
struct RoomCursor: Sendable, Equatable {
    var lastSeq: UInt64?
    var epoch: Int64?

    /// A `hello` arrived: returns true when the room started a new numbering (the seqs held
    /// belong to the old one; the server now sends the new one from seq 1). Epoch 0 is a room
    /// that had no numbering yet: the server takes seqs of it as the next numbering's.
    mutating func hello(lastSeq latest: UInt64, epoch newEpoch: Int64) -> Bool {
        defer { epoch = newEpoch }
        if let epoch, epoch != 0, epoch != newEpoch {
            lastSeq = 0
            return true
        }
        // Without a resume point the room's comments start after the ones already there.
        if lastSeq == nil { lastSeq = latest }
        return false
    }

    /// The comments not reported before, in order; moves the cursor past them.
    mutating func fresh(_ comments: [DanmakuComment]) -> [DanmakuComment] {
        var fresh: [DanmakuComment] = []
        for comment in comments where comment.seq > (lastSeq ?? 0) {
            fresh.append(comment)
            lastSeq = comment.seq
        }
        return fresh
    }

    /// A batch accounted for seqs up to `seq` without carrying each (merged repeats, a display
    /// budget): a resume starts after them.
    mutating func passed(_ seq: UInt64) {
        if seq > (lastSeq ?? 0) { lastSeq = seq }
    }

    /// The query a connection or join resumes with.
    var resumeParameters: [(String, String)] {
        var parameters: [(String, String)] = []
        if let lastSeq { parameters.append(("since", String(lastSeq))) }
        if let epoch { parameters.append(("epoch", String(epoch))) }
        return parameters
    }
}
