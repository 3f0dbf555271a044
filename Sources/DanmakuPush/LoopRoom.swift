// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import NIOCore
import Tracing

/// One room's state on one EventLoop: its viewers there, and the comments waiting for the next tick.
///
/// Owned by a `PushShard`, touched only on that shard's loop, never locked.
final class LoopRoom {
    let id: RoomID
    /// Viewers receiving batches, in a dense array for the fan-out loop.
    private(set) var viewers: [RoomSubscription] = []
    /// Viewers waiting for their history snapshot; they collect what is flushed meanwhile.
    let joiners: Joiners
    /// The room's comments back in seq order, as they come from the bus.
    private(set) var order = SeqOrder()
    /// In-order comments for the next batch.
    var pending: [EncodedComment] = []
    /// When `pending` last went from empty to holding comments (for `danmaku_batch_wait_seconds`).
    var pendingSince: NIODeadline?
    /// When the batch on its way (`outgoing`) started out (for `danmaku_room_fanout_seconds`).
    var fanOutStarted = NIODeadline.distantPast
    /// When the first comment of the batch on its way arrived on this loop.
    var outgoingSince: NIODeadline?
    /// From the first comment's arrival to the last viewer's write, for the room's last batch:
    /// the delay a comment sees on this node (`hello`'s `delayMs`, `danmaku_batch_delay_seconds`).
    var recentDelay = TimeAmount.zero
    /// `danmaku.push`: from a traced comment's arrival on this loop to its batch's first writes
    /// (one span per batch, for its first traced comment; nil while tracing is off).
    private var traceSpan: (any Span)?
    /// Whether the room is on its shard's list of rooms to flush, and when it is due.
    var isDirty = false
    var flushDeadline = NIODeadline.distantPast
    /// Whether comments arrived since the last sweep (the room counts as active).
    var receivedRecently = false
    /// The batch window the shard chose for the room (see `BatchWindowController`).
    var window: TimeAmount
    /// Comments received since the shard last looked, and the recent rate it derived from them.
    var receivedSinceTuning = 0
    var receivedBytesSinceTuning = 0
    var commentsPerSecond = 0.0
    var bytesPerSecond = 0.0
    /// The batch on its way to the viewers, a slice at a time.
    var outgoing: Outgoing?
    /// Frames that must not overtake the batch on its way (retractions of its comments).
    var afterFanOut = HeldRetractions()
    /// The room's display budget, when it has one, and the batches it thins.
    let budgeted: BudgetedBatches
    /// Whether batches send repeated comments once (`RepeatMerger`): the room's setting, or the
    /// node's `--merge-repeats`. Off under a display budget, which already thins the batch.
    var mergesRepeats = false
    /// Like counts waiting to go out (see `collectLikes`).
    private var pendingLikes = PendingLikes()

    /// Applies the room's settings as the push role reads them.
    func apply(_ policy: RoomPolicy, now: NIODeadline) {
        budgeted.setPerSecond(policy.displayPerSecond, now: now)
        mergesRepeats = policy.mergesRepeats
    }

    init(id: RoomID, window: TimeAmount) {
        self.id = id
        self.window = window
        self.budgeted = BudgetedBatches(room: id)
        self.joiners = Joiners(room: id)
    }

    var isEmpty: Bool { viewers.isEmpty && joiners.isEmpty }

    /// Viewers of the room on this loop, those still joining included.
    var viewerCount: Int { viewers.count + joiners.count }

    /// Which online counts go out to the room's viewers, and when.
    private var onlineAnnouncements = OnlineAnnouncements()

    /// Sends `{"type":"online",…}` (one shared frame) when `count` differs from the last one sent
    /// and the room's spacing since the last has passed (`OnlineAnnouncements`).
    func announceOnline(_ count: Int, now: NIODeadline) {
        guard onlineAnnouncements.announces(count, viewers: viewers.count, now: now) else { return }
        let frame = ViewerMessage.frame(ViewerMessage.Online(room: id.value, count: count))
        for subscription in viewers { subscription.viewer.send(frame) }
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
        } else {
            joiners.remove(viewer)
        }
    }

    /// Takes comments from the bus. Returns true when some became ready to flush.
    ///
    /// - Parameter trace: the publishing span's context, when the comments were published in
    ///   this process while tracing.
    func receive(_ comments: [EncodedComment], now: NIODeadline, trace: ServiceContext? = nil) -> Bool {
        if let trace, traceSpan == nil, let first = comments.first {
            let span = InstrumentationSystem.tracer.startSpan("danmaku.push", context: trace, ofKind: .consumer)
            span.attributes["danmaku.room"] = id.value
            span.attributes["danmaku.seq"] = Int(clamping: first.seq)
            traceSpan = span
        }
        receivedRecently = true
        receivedSinceTuning += comments.count
        for comment in comments { receivedBytesSinceTuning += comment.json.readableBytes }
        return whileOrdering(now: now) { $0.receive(comments, into: &$1, now: now) }
    }

    /// Runs `step` on the order, with `pending` to append what it releases; true when comments
    /// became ready to flush.
    private func whileOrdering(now: NIODeadline, _ step: (inout SeqOrder, inout [EncodedComment]) -> Void) -> Bool {
        let before = pending.count
        step(&order, &pending)
        if before == 0, !pending.isEmpty { pendingSince = now }
        return pending.count > before
    }

    /// The seqs missing for `timeout` before held comments (see `SeqOrder.stalledGap`).
    func stalledGap(now: NIODeadline, timeout: TimeAmount) -> ClosedRange<UInt64>? {
        order.stalledGap(now: now, timeout: timeout)
    }

    /// How long the oldest held comment has waited for a missing seq.
    func heldFor(now: NIODeadline) -> TimeAmount { order.heldFor(now: now) }

    /// A history read of a stalled gap is under way (one at a time per room).
    var repairingGap = false

    /// Stops waiting for `seqs`: history does not hold them (retracted or withdrawn), so nothing
    /// is missed. True when comments held behind them became ready.
    func skip(_ seqs: ClosedRange<UInt64>, now: NIODeadline) -> Bool {
        whileOrdering(now: now) { $0.skip(through: seqs.upperBound, into: &$1, now: now) }
    }

    /// Gives up on `seqs` that history could not be read for, and tells every viewer with a
    /// `gap` (a viewer's count must not silently lack them: reconnecting with `since` before them
    /// gets them from history). True when comments held behind them became ready.
    func declareGap(_ seqs: ClosedRange<UInt64>, now: NIODeadline) -> Bool {
        // Only what is still awaited: a late publish may have filled part of it meanwhile.
        let from = max(order.next ?? seqs.lowerBound, seqs.lowerBound)
        guard from <= seqs.upperBound else { return false }
        let frame = ViewerMessage.frame(ViewerMessage.Gap(room: id.value, from: from, to: seqs.upperBound))
        // Live viewers only: a joining viewer's snapshot (read after this) holds what history has.
        for subscription in viewers { subscription.viewer.send(frame) }
        return skip(from...seqs.upperBound, now: now)
    }

    /// Comments a failover numbered with seqs already passed on here (to other comments, or
    /// skipped): each is told to every live viewer as a `gap` of its seq, since it can no longer
    /// come in order (a viewer that resumes from before it gets it from history). One whose seq
    /// is still awaited here takes its place in the order. True when comments became ready.
    func renumbered(_ comments: [EncodedComment], now: NIODeadline) -> Bool {
        let next = order.next ?? 0
        let behind = comments.filter { $0.seq < next }
        for comment in behind {
            let frame = ViewerMessage.frame(ViewerMessage.Gap(room: id.value, from: comment.seq, to: comment.seq))
            // Live viewers only: a joining viewer's snapshot (read after this) holds what history has.
            for subscription in viewers { subscription.viewer.send(frame) }
        }
        let awaited = comments.filter { $0.seq >= next }
        return awaited.isEmpty ? false : receive(awaited, now: now)
    }

    /// Takes comment `id` (`seq`) back: out of the next batch if it is still waiting, and a
    /// `retract` message (one shared frame) to every viewer, which removes it if already shown.
    /// Unless `seqReused` (another comment holds the seq), the seq is not waited for any more.
    /// Returns true when comments held behind it became ready to flush.
    @discardableResult
    func retract(seq: UInt64, id: String, seqReused: Bool = false, reason: RetractReason? = nil, now: NIODeadline) -> Bool {
        pending.removeAll { $0.seq == seq && $0.hasID(id) }
        let released = whileOrdering(now: now) { $0.withdraw(seq: seq, id: id, seqReused: seqReused, into: &$1, now: now) }
        let frame = ViewerMessage.frame(ViewerMessage.Retract(room: self.id.value, seq: seq, id: id, reason: reason))
        // Joining viewers are told once their history is sent (`Joiners.noteRetraction`).
        joiners.noteRetraction(RetractedComment(seq: seq, id: id, reason: reason))
        // A viewer the batch carrying it has not reached yet would get the retraction first,
        // and then show the comment: it waits for the batch to reach everyone.
        if afterFanOut.hold(frame, seq: seq, behind: outgoing.map { ($0.first, $0.last) }) { return released }
        for subscription in viewers { subscription.viewer.send(frame) }
        return released
    }

    /// A joining viewer's history arrived: send it, then make the viewer live.
    func activate(
        _ viewer: RoomSubscription, snapshot: HistorySnapshot, since: UInt64?, window: TimeAmount, online: Int, now: NIODeadline,
        allocator: ByteBufferAllocator
    ) -> Bool {
        guard joiners.remove(viewer) else { return false }
        // The first snapshot fixes where this loop's copy of the room starts.
        let becameReady = whileOrdering(now: now) { $0.start(after: snapshot.lastSeq, into: &$1, now: now) }
        joiners.catchUp(
            viewer, snapshot: snapshot, since: since, window: window, delay: recentDelay, online: online,
            displayPerSecond: budgeted.perSecond, allocator: allocator)
        // What it was sent may have passed its connection's bound, which closes it at once (and
        // it left the room then): live, it would keep the room from ever emptying.
        guard !viewer.hasLeft else { return becameReady }
        viewer.slot = viewers.count
        viewers.append(viewer)
        return becameReady
    }

    /// Writes the pending comments as one frame, the same bytes to every live viewer (one
    /// compressed copy for the viewers that negotiated permessage-deflate); in the naive mode
    /// (`framePerComment`), as one frame per comment.
    ///
    /// The shared frame goes to at most `writeLimit` viewers now; the shard hands the rest out
    /// with `continueFanOut`, in slices between which the loop serves its sockets, so a hot room
    /// never holds up posts, joins and pings for a whole round of writes. A room with a display
    /// budget, and the naive mode, write everything at once.
    ///
    /// - Returns: the frames written and the comments they carried, for metrics.
    @discardableResult
    func flush(
        allocator: ByteBufferAllocator, framePerComment: Bool, compressor: () -> FrameCompressor?, now: NIODeadline = .now(),
        writeLimit: Int = .max
    ) -> Flushed {
        if let span = traceSpan {
            traceSpan = nil
            span.attributes["danmaku.batch.comments"] = pending.count
            span.attributes["danmaku.viewers"] = viewers.count
            span.attributes["danmaku.window_ms"] = Int(window.nanoseconds / 1_000_000)
            defer { span.end() }
            return flush(allocator: allocator, framePerComment: framePerComment, compressor: compressor, now: now, writeLimit: writeLimit)
        }
        if framePerComment, pending.count > 1 {
            let comments = pending
            var total = Flushed()
            for comment in comments {
                pending = [comment]
                total.add(flush(allocator: allocator, framePerComment: false, compressor: compressor, now: now))
            }
            return total
        }
        if budgeted.isOn, !pending.isEmpty {
            let flushed = budgeted.flush(pending, to: viewers, allocator: allocator, compressor: compressor, now: now)
            joiners.buffer(pending)
            pending.removeAll(keepingCapacity: true)
            return flushed
        }
        guard let first = pending.first?.seq, let last = pending.last?.seq else { return Flushed() }
        precondition(outgoing == nil, "a room's batches go out one at a time")
        // The viewers of this moment: one who leaves meanwhile is skipped, one who joins gets
        // these comments with its history.
        var batch = Outgoing(comments: pending, first: first, last: last, targets: viewers)
        var mergedAway = 0
        if mergesRepeats {
            let (kept, groups) = RepeatMerger.merge(pending)
            if !groups.isEmpty {
                (batch.comments, batch.merged, batch.unmerged) = (kept, groups, pending)
                mergedAway = pending.count - kept.count
            }
        }
        outgoing = batch
        joiners.buffer(pending)
        pending.removeAll(keepingCapacity: true)
        var flushed = continueFanOut(writeLimit: writeLimit, allocator: allocator, compressor: compressor)
        flushed.merged = mergedAway
        return flushed
    }

    /// The compressed form of a plain batch frame; the plain frame itself if compression fails
    /// (an uncompressed message is always allowed under permessage-deflate).
    static func compressed(_ frame: ByteBuffer, compressor: FrameCompressor?, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard let compressor, let payload = ServerFrame.payload(of: frame),
            let compressed = try? compressor.textFrame(payload: payload, allocator: allocator)
        else { return frame }
        return compressed
    }
}

extension LoopRoom {
    /// Keeps the latest count of each comment until the room's likes go out; true when none were
    /// waiting (the caller schedules `sendLikes` one window ahead).
    func collectLikes(_ likes: [LikeCount]) -> Bool {
        pendingLikes.collect(likes)
    }

    /// Sends the collected counts to every viewer of the room, in one shared frame.
    func sendLikes() {
        guard let frame = pendingLikes.takeFrame(room: id) else { return }
        for subscription in viewers { subscription.viewer.send(frame) }
        joiners.send(frame)
    }
}
