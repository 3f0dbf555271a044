// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import NIOCore

/// One room's state on one EventLoop: its viewers there, and the comments waiting for the next tick.
///
/// Owned by a `PushShard`, touched only on that shard's loop, never locked.
final class LoopRoom {
    let id: RoomID
    /// Viewers receiving batches, in a dense array for the fan-out loop.
    private(set) var viewers: [RoomSubscription] = []
    /// Viewers waiting for their history snapshot; they collect what is flushed meanwhile.
    private(set) var joining: [RoomSubscription] = []
    /// The next seq to pass on, or nil until the first snapshot tells where the room stands.
    private var nextSeq: UInt64?
    /// Comments that arrived ahead of a missing seq (or before `nextSeq` was known).
    private var held: [UInt64: EncodedComment] = [:]
    private var heldSince: NIODeadline?
    /// In-order comments for the next batch.
    private(set) var pending: [EncodedComment] = []
    /// Whether the room is on its shard's list of rooms to flush, and when it is due.
    var isDirty = false
    var flushDeadline = NIODeadline.distantPast
    /// Whether comments arrived since the last sweep (the room counts as active).
    var receivedRecently = false
    /// The room's display budget, when it has one.
    private(set) var displayBudget: DisplayBudget?

    /// The last seq a budgeted flush covered.
    private var budgetedThrough: UInt64 = 0

    /// Applies the room's `displayPerSecond` setting (nil: off).
    func setDisplayPerSecond(_ perSecond: Int?, now: NIODeadline) {
        guard perSecond != displayBudget?.perSecond else { return }
        displayBudget = perSecond.map { DisplayBudget(perSecond: $0, now: now) }
    }

    init(id: RoomID) {
        self.id = id
    }

    var isEmpty: Bool { viewers.isEmpty && joining.isEmpty }

    /// Viewers of the room on this loop, those still joining included.
    var viewerCount: Int { viewers.count + joining.count }

    /// The online count last sent to this room's viewers (in `hello` or `online`).
    private var announcedOnline: Int?

    /// Sends `{"type":"online",…}` (one shared frame) when `count` differs from the last one sent.
    func announceOnline(_ count: Int) {
        guard count != announcedOnline, !viewers.isEmpty else { return }
        announcedOnline = count
        let frame = ViewerMessage.frame(ViewerMessage.Online(room: id.value, count: count))
        for subscription in viewers { subscription.viewer.send(frame) }
    }

    func addJoining(_ viewer: RoomSubscription) {
        joining.append(viewer)
    }

    /// Removes `viewer` wherever it is; O(1) for live viewers.
    func remove(_ viewer: RoomSubscription) {
        if let slot = viewer.slot, slot < viewers.count, viewers[slot] === viewer {
            let last = viewers.removeLast()
            if slot < viewers.count {
                viewers[slot] = last
                last.slot = slot
            }
            viewer.slot = nil
        } else if let index = joining.firstIndex(where: { $0 === viewer }) {
            joining.remove(at: index)
        }
    }

    /// Takes comments from the bus. Returns true when some became ready to flush.
    func receive(_ comments: [EncodedComment], now: NIODeadline) -> Bool {
        receivedRecently = true
        for comment in comments {
            if let next = nextSeq, comment.seq < next { continue }  // already passed on
            held[comment.seq] = comment
        }
        return release(now: now)
    }

    /// Moves the contiguous run starting at `nextSeq` from `held` to `pending`.
    private func release(now: NIODeadline) -> Bool {
        guard var next = nextSeq else {
            if !held.isEmpty, heldSince == nil { heldSince = now }
            return false
        }
        let before = pending.count
        while let comment = held.removeValue(forKey: next) {
            pending.append(comment)
            next += 1
        }
        nextSeq = next
        heldSince = held.isEmpty ? nil : (heldSince ?? now)
        return pending.count > before
    }

    /// Gives up on a seq that has been missing for `timeout`: skips to the oldest held comment.
    ///
    /// The bus lost nothing in memory mode; this guards against a lost publish on a remote bus,
    /// where the comment is still in history and a resuming viewer gets it.
    func skipStalledGap(now: NIODeadline, timeout: TimeAmount) -> Bool {
        guard let since = heldSince, now - since >= timeout, nextSeq != nil, let oldest = held.keys.min() else {
            return false
        }
        nextSeq = oldest
        return release(now: now)
    }

    /// Takes comment `seq` back: out of the next batch if it is still waiting, and a `retract`
    /// message (one shared frame) to every viewer, which removes it if already shown.
    func retract(seq: UInt64, id: String) {
        pending.removeAll { $0.seq == seq }
        held[seq] = nil
        let frame = ViewerMessage.frame(ViewerMessage.Retract(room: self.id.value, seq: seq, id: id))
        for subscription in viewers { subscription.viewer.send(frame) }
        for subscription in joining { subscription.viewer.send(frame) }
    }

    /// A joining viewer's history arrived: send it, then make the viewer live.
    func activate(
        _ viewer: RoomSubscription, snapshot: HistorySnapshot, since: UInt64?, window: TimeAmount, online: Int, now: NIODeadline,
        allocator: ByteBufferAllocator
    ) -> Bool {
        guard let index = joining.firstIndex(where: { $0 === viewer }) else { return false }
        joining.remove(at: index)
        var becameReady = false
        if nextSeq == nil {
            // The first snapshot fixes where this loop's copy of the room starts.
            nextSeq = snapshot.lastSeq + 1
            held = held.filter { $0.key > snapshot.lastSeq }
            becameReady = release(now: now)
        }
        // Taken first: `becomeLive` ends the joining phase, and with it the buffer.
        let flushedMeanwhile = viewer.becomeLive()
        let connection = viewer.viewer
        connection.sendHello(
            room: id, lastSeq: snapshot.lastSeq, epoch: snapshot.epoch, window: window, online: online, displayPerSecond: displayBudget?.perSecond)
        if let since, since < snapshot.lastSeq {
            if since + 1 < snapshot.firstAvailableSeq {
                connection.sendGap(room: id, from: since + 1, to: snapshot.firstAvailableSeq - 1)
            }
            if let last = snapshot.comments.last {
                connection.send(batch: ViewerMessage.batch(room: id, comments: snapshot.comments, allocator: allocator), through: last.seq)
            }
        }
        viewer.lastSentSeq = snapshot.lastSeq
        // What was flushed while the snapshot was on its way, past what the snapshot covered.
        let missed = flushedMeanwhile.filter { $0.seq > snapshot.lastSeq }
        if let last = missed.last {
            connection.send(batch: ViewerMessage.batch(room: id, comments: missed, allocator: allocator), through: last.seq)
            viewer.lastSentSeq = last.seq
        }
        viewer.slot = viewers.count
        viewers.append(viewer)
        return becameReady
    }

    /// Writes the pending comments as one frame, the same bytes to every live viewer (one
    /// compressed copy for the viewers that negotiated permessage-deflate); in the naive mode
    /// (`framePerComment`), as one frame per comment.
    ///
    /// - Returns: the frames written and the comments they carried, for metrics.
    @discardableResult
    func flush(allocator: ByteBufferAllocator, framePerComment: Bool, compressor: () -> FrameCompressor?, now: NIODeadline = .now()) -> Flushed {
        if framePerComment, pending.count > 1 {
            let comments = pending
            var total = Flushed()
            for comment in comments {
                pending = [comment]
                total.add(flush(allocator: allocator, framePerComment: false, compressor: compressor, now: now))
            }
            return total
        }
        if displayBudget != nil, !pending.isEmpty {
            return flushWithinBudget(allocator: allocator, compressor: compressor, now: now)
        }
        guard let first = pending.first?.seq, let last = pending.last?.seq else { return Flushed() }
        var frames = 0
        var deliveries = 0
        var shared: ByteBuffer?
        var sharedCompressed: ByteBuffer?
        for subscription in viewers {
            let sent = subscription.lastSentSeq
            if sent >= last { continue }
            let viewer = subscription.viewer
            frames += 1
            deliveries += Int(last - max(sent + 1, first) + 1)
            if sent < first {
                if shared == nil { shared = ViewerMessage.batch(room: id, comments: pending, allocator: allocator) }
                if viewer.compressesBatches {
                    if sharedCompressed == nil { sharedCompressed = Self.compressed(shared!, compressor: compressor(), allocator: allocator) }
                    viewer.send(batch: sharedCompressed!, through: last)
                } else {
                    viewer.send(batch: shared!, through: last)
                }
            } else {
                // Only right after a join can a viewer already hold part of the batch.
                viewer.send(batch: ViewerMessage.batch(room: id, comments: pending.filter { $0.seq > sent }, allocator: allocator), through: last)
            }
            subscription.lastSentSeq = last
        }
        bufferForJoiners()
        pending.removeAll(keepingCapacity: true)
        return Flushed(frames: frames, deliveries: deliveries)
    }

    /// Tells viewers of a quiet budgeted room about the seqs they were never sent: an empty batch
    /// whose `shed` covers them, so a viewer's count is complete without waiting for the next
    /// comment. Called once a second for rooms that received nothing in that second.
    func settleShed(allocator: ByteBufferAllocator) -> Flushed {
        guard displayBudget != nil || budgetedThrough > 0 else { return Flushed() }
        var total = Flushed()
        var frames: [UInt64: ByteBuffer] = [:]
        for subscription in viewers where subscription.lastSentSeq < budgetedThrough {
            let sent = subscription.lastSentSeq
            let shed = Int(budgetedThrough - sent)
            if frames[sent] == nil {
                frames[sent] = ViewerMessage.batch(room: id, comments: [], shed: (shed, budgetedThrough), allocator: allocator)
            }
            subscription.viewer.send(batch: frames[sent]!, through: budgetedThrough)
            subscription.lastSentSeq = budgetedThrough
            total.add(Flushed(frames: 1, deliveries: 0, shed: shed))
        }
        return total
    }

    /// The frame for viewers standing at `sent`: the selected comments past it, and how many seqs
    /// up to `last` it leaves out; nil when nothing selected is past it.
    private static func sharedBatch(
        _ selected: [EncodedComment], after sent: UInt64, last: UInt64, room: RoomID, allocator: ByteBufferAllocator
    ) -> SharedBatch? {
        let items = selected.filter { $0.seq > sent }
        guard !items.isEmpty else { return nil }
        let shed = Int(last - sent) - items.count
        return SharedBatch(plain: ViewerMessage.batch(room: room, comments: items, shed: (shed, last), allocator: allocator), count: items.count, shed: shed)
    }

    /// Viewers still joining keep the whole batch (their history catch-up is not budgeted).
    private func bufferForJoiners() {
        for subscription in joining where !subscription.bufferWhileJoining(pending) {
            // A snapshot this late means the history store is in trouble; let the viewer resume.
            subscription.viewer.close(code: .unexpectedServerError, reason: "history too slow")
        }
    }

    /// The flush of a room with a display budget: every viewer is sent the budget's selection
    /// plus its own held-back comments, and told how many seqs up to the batch's last were shed.
    ///
    /// Viewers that stand at the same seq and have none of their own held back share one frame;
    /// a viewer for whom nothing is selected is sent nothing, and its next frame's `shed` covers
    /// these seqs too.
    private func flushWithinBudget(allocator: ByteBufferAllocator, compressor: () -> FrameCompressor?, now: NIODeadline) -> Flushed {
        let last = pending[pending.count - 1].seq
        budgetedThrough = last
        let (selected, held) = displayBudget!.select(pending, now: now)
        var total = Flushed()
        // Frames shared by the viewers that stand at one seq (usually all of them); nil where
        // the selection has nothing past that seq.
        var shared: [UInt64: SharedBatch?] = [:]
        // Held-back comments by author, for the viewers that wrote some of them.
        var heldByAuthor: [[UInt8]: [EncodedComment]] = [:]
        for comment in held {
            if let author = comment.encodedAuthor { heldByAuthor[author, default: []].append(comment) }
        }
        // The entry for the seq the previous viewer stood at: nearly every viewer stands at the
        // same one, so the dictionary is consulted about once per flush, not once per viewer.
        var current: (sent: UInt64, batch: SharedBatch?)?
        for subscription in viewers {
            let sent = subscription.lastSentSeq
            if sent >= last { continue }
            let viewer = subscription.viewer
            let own = viewer.authorID.flatMap { heldByAuthor[$0] }?.filter { $0.seq > sent } ?? []
            var frame: ByteBuffer
            var count: Int
            var shed: Int
            if own.isEmpty {
                if current?.sent != sent {
                    if let previous = current { shared[previous.sent] = .some(previous.batch) }
                    current = (sent, shared[sent] ?? Self.sharedBatch(selected, after: sent, last: last, room: id, allocator: allocator))
                }
                // Nothing selected past this seq: the viewer's next frame will count these as shed.
                guard var batch = current!.batch else { continue }
                if viewer.compressesBatches {
                    if batch.compressed == nil {
                        batch.compressed = Self.compressed(batch.plain, compressor: compressor(), allocator: allocator)
                        current!.batch = batch
                    }
                    frame = batch.compressed!
                } else {
                    frame = batch.plain
                }
                (count, shed) = (batch.count, batch.shed)
            } else {
                var items = selected.filter { $0.seq > sent } + own
                items.sort { $0.seq < $1.seq }
                count = items.count
                shed = Int(last - sent) - count
                frame = ViewerMessage.batch(room: id, comments: items, shed: (shed, last), allocator: allocator)
                if viewer.compressesBatches { frame = Self.compressed(frame, compressor: compressor(), allocator: allocator) }
            }
            viewer.send(batch: frame, through: last)
            subscription.lastSentSeq = last
            total.add(Flushed(frames: 1, deliveries: count, shed: shed))
        }
        bufferForJoiners()
        pending.removeAll(keepingCapacity: true)
        return total
    }

    /// The compressed form of a plain batch frame; the plain frame itself if compression fails
    /// (an uncompressed message is always allowed under permessage-deflate).
    private static func compressed(_ frame: ByteBuffer, compressor: FrameCompressor?, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard let compressor, let payload = ServerFrame.payload(of: frame),
            let compressed = try? compressor.textFrame(payload: payload, allocator: allocator)
        else { return frame }
        return compressed
    }
}

/// A budgeted batch as sent to the viewers that stand at one seq.
private struct SharedBatch {
    var plain: ByteBuffer
    var compressed: ByteBuffer?
    var count: Int
    var shed: Int
}

/// What one flush wrote, for metrics.
struct Flushed {
    var frames = 0
    /// Comments written, summed over viewers.
    var deliveries = 0
    /// Comments held back by the display budget, summed over viewers.
    var shed = 0

    mutating func add(_ other: Flushed) {
        frames += other.frames
        deliveries += other.deliveries
        shed += other.shed
    }
}
