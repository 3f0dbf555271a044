// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore

/// A room's batch on its way to its viewers: written to a few viewers at a time, so that the
/// loop can serve its sockets in between.
extension LoopRoom {
    /// Whether a batch is still on its way to some of the room's viewers.
    var isFanningOut: Bool { outgoing != nil }

    /// Writes the batch on its way to at most `writeLimit` more viewers; once every viewer has it,
    /// sends what waited for it (retractions of its comments).
    func continueFanOut(writeLimit: Int, allocator: ByteBufferAllocator, compressor: () -> FrameCompressor?) -> Flushed {
        guard var batch = outgoing else { return Flushed() }
        // Released while writing: the writes below may not touch `outgoing` through `self`.
        outgoing = nil
        var frames = 0
        var deliveries = 0
        var bytes = 0
        // Read out of `batch` once: a closure below that captured `batch` itself would put it in a
        // heap box on every call.
        let comments = batch.comments
        let merged = batch.merged.isEmpty ? nil : (groups: batch.merged, lastSeq: batch.last)
        let end = min(batch.targets.count, batch.cursor + max(1, writeLimit))
        while batch.cursor < end {
            let subscription = batch.targets[batch.cursor]
            batch.cursor += 1
            let sent = subscription.lastSentSeq
            // Gone from the room since the batch was cut, or already past it.
            if subscription.slot == nil || sent >= batch.last { continue }
            let viewer = subscription.viewer
            frames += 1
            deliveries += Int(batch.last - max(sent + 1, batch.first) + 1)
            if sent < batch.first {
                let frame = batch.frames.frame(format: viewer.format, compressed: viewer.compressesBatches) {
                    ViewerMessage.batch(room: id, comments: comments, merged: merged, format: viewer.format, allocator: allocator)
                } compress: {
                    Self.compressed($0, compressor: compressor(), allocator: allocator)
                }
                viewer.send(batch: frame, through: batch.last)
                bytes += frame.readableBytes
            } else {
                // Only right after a join can a viewer already hold part of the batch.
                let rest = (batch.unmerged ?? comments).filter { $0.seq > sent }
                let frame = ViewerMessage.batch(room: id, comments: rest, format: viewer.format, allocator: allocator)
                viewer.send(batch: frame, through: batch.last)
                bytes += frame.readableBytes
            }
            subscription.lastSentSeq = batch.last
        }
        if batch.cursor < batch.targets.count {
            outgoing = batch
        } else {
            let waiting = afterFanOut.release()
            // (Joining viewers noted these retractions when they came: `retract`.)
            for frame in waiting {
                for subscription in viewers { subscription.viewer.send(frame) }
            }
        }
        return Flushed(frames: frames, deliveries: deliveries, bytes: bytes)
    }
}

/// A batch on its way to the room's viewers: the comments, the frames built for them (once,
/// on first use), and how far through the viewers of its moment it has got.
struct Outgoing {
    /// What the batch's frame carries: every comment from `first` to `last`, or with merged
    /// repeats the comments kept, `merged` saying which seqs each stands for.
    var comments: [EncodedComment]
    var merged: [[UInt64]] = []
    /// Every comment, when repeats were merged: a viewer that holds part of the batch already
    /// gets the rest of them one by one.
    var unmerged: [EncodedComment]?
    var first: UInt64
    var last: UInt64
    var targets: [RoomSubscription]
    var cursor = 0
    var frames = BatchFrames()
}

/// One batch's frames, built on first use: in each wire format, plain and compressed.
struct BatchFrames {
    private var full: ByteBuffer?
    private var fullCompressed: ByteBuffer?
    private var compact: ByteBuffer?
    private var compactCompressed: ByteBuffer?

    /// The frame for viewers that read `format`, compressed or not; `build` makes the plain frame
    /// and `compress` the compressed one from it, once each. Called once per viewer: a lookup,
    /// no hashing.
    mutating func frame(
        format: WireFormat, compressed: Bool, build: () -> ByteBuffer, compress: (ByteBuffer) -> ByteBuffer
    ) -> ByteBuffer {
        switch (format, compressed) {
        case (.full, false): return Self.made(&full, build)
        case (.compact, false): return Self.made(&compact, build)
        case (.full, true): return Self.made(&fullCompressed) { compress(Self.made(&full, build)) }
        case (.compact, true): return Self.made(&compactCompressed) { compress(Self.made(&compact, build)) }
        }
    }

    private static func made(_ slot: inout ByteBuffer?, _ make: () -> ByteBuffer) -> ByteBuffer {
        if let frame = slot { return frame }
        let frame = make()
        slot = frame
        return frame
    }
}
