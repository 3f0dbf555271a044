// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore

/// The batches of a room with a display budget (`displayPerSecond`) on one loop: each viewer
/// gets the budget's selection plus its own comments, and a `shed` count that keeps its seq
/// accounting exact.
///
/// Owned by a `LoopRoom`, touched only on its shard's loop, never locked.
final class BudgetedBatches {
    private let room: RoomID
    /// The room's display budget, when it has one.
    private var budget: DisplayBudget?
    /// The last seq a budgeted flush covered.
    private var budgetedThrough: UInt64 = 0

    init(room: RoomID) {
        self.room = room
    }

    /// Comments a second each viewer is sent; nil when the room has no budget.
    var perSecond: Int? { budget?.perSecond }

    /// Whether the room's batches go out within the budget (`flush`).
    var isOn: Bool { budget != nil }

    /// Applies the room's `displayPerSecond` setting (nil: off).
    func setPerSecond(_ perSecond: Int?, now: NIODeadline) {
        guard perSecond != budget?.perSecond else { return }
        budget = perSecond.map { DisplayBudget(perSecond: $0, now: now) }
    }

    /// Tells viewers of a quiet budgeted room about the seqs they were never sent: an empty batch
    /// whose `shed` covers them, so a viewer's count is complete without waiting for the next
    /// comment. Called once a second for rooms that received nothing in that second.
    func settleShed(_ viewers: [RoomSubscription], allocator: ByteBufferAllocator) -> Flushed {
        guard budget != nil || budgetedThrough > 0 else { return Flushed() }
        var total = Flushed()
        // An empty batch reads the same in every wire format.
        var frames: [UInt64: ByteBuffer] = [:]
        for subscription in viewers where subscription.lastSentSeq < budgetedThrough {
            let sent = subscription.lastSentSeq
            let shed = Int(budgetedThrough - sent)
            if frames[sent] == nil {
                frames[sent] = ViewerMessage.batch(room: room, comments: [], shed: (shed, budgetedThrough), allocator: allocator)
            }
            let frame = frames[sent]!
            subscription.viewer.send(batch: frame, through: budgetedThrough)
            subscription.lastSentSeq = budgetedThrough
            total.add(Flushed(frames: 1, deliveries: 0, shed: shed, bytes: frame.readableBytes))
        }
        return total
    }

    /// The frame for viewers standing at `sent`: the selected comments past it, and how many seqs
    /// up to `last` it leaves out; nil when nothing selected is past it.
    static func sharedBatch(_ selected: [EncodedComment], after sent: UInt64, last: UInt64) -> SharedBatch? {
        let items = selected.filter { $0.seq > sent }
        guard !items.isEmpty else { return nil }
        return SharedBatch(items: items, last: last, count: items.count, shed: Int(last - sent) - items.count)
    }

    /// Sends `pending` (not empty) within the budget: every viewer is sent the budget's selection
    /// plus its own held-back comments, and told how many seqs up to the batch's last were shed.
    ///
    /// Viewers that stand at the same seq and have none of their own held back share one frame;
    /// a viewer for whom nothing is selected is sent nothing, and its next frame's `shed` covers
    /// these seqs too.
    func flush(
        _ pending: [EncodedComment], to viewers: [RoomSubscription], allocator: ByteBufferAllocator, compressor: () -> FrameCompressor?,
        now: NIODeadline
    ) -> Flushed {
        let last = pending[pending.count - 1].seq
        budgetedThrough = last
        let (selected, held) = budget!.select(pending, now: now)
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
                    current = (sent, shared[sent] ?? Self.sharedBatch(selected, after: sent, last: last))
                }
                // Nothing selected past this seq: the viewer's next frame will count these as shed.
                guard var batch = current!.batch else { continue }
                frame = batch.frames.frame(format: viewer.format, compressed: viewer.compressesBatches) {
                    ViewerMessage.batch(room: room, comments: batch.items, shed: (batch.shed, batch.last), format: viewer.format, allocator: allocator)
                } compress: {
                    LoopRoom.compressed($0, compressor: compressor(), allocator: allocator)
                }
                current!.batch = batch
                (count, shed) = (batch.count, batch.shed)
            } else {
                var items = selected.filter { $0.seq > sent } + own
                items.sort { $0.seq < $1.seq }
                count = items.count
                shed = Int(last - sent) - count
                frame = ViewerMessage.batch(room: room, comments: items, shed: (shed, last), format: viewer.format, allocator: allocator)
                if viewer.compressesBatches { frame = LoopRoom.compressed(frame, compressor: compressor(), allocator: allocator) }
            }
            viewer.send(batch: frame, through: last)
            subscription.lastSentSeq = last
            total.add(Flushed(frames: 1, deliveries: count, shed: shed, bytes: frame.readableBytes))
        }
        return total
    }
}

/// A budgeted batch as sent to the viewers that stand at one seq.
struct SharedBatch {
    var items: [EncodedComment]
    var last: UInt64
    var count: Int
    var shed: Int
    var frames = BatchFrames()
}
