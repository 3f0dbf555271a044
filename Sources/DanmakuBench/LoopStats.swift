// Danmaku — a live-stream bullet-comment service.

import CompressNIO
import Histogram
import NIOCore

/// What viewers measured: counters and end-to-end latency.
public struct ViewerTotals: Sendable {
    /// Comments received (deliveries).
    public var deliveries: UInt64 = 0
    /// `comments` frames received.
    public var frames: UInt64 = 0
    /// WebSocket payload bytes received.
    public var bytes: UInt64 = 0
    /// Seqs a viewer never got and was not told were shed (gaps, plus `gap` messages): lost.
    public var missing: UInt64 = 0
    /// Seqs a display budget held back, as the batches said (`shed`): not lost.
    public var shed: UInt64 = 0
    /// Seqs sent as part of another comment (merged repeats), as the batches said: not lost.
    public var merged: UInt64 = 0
    /// Seqs a viewer got twice or after a later one.
    public var duplicated: UInt64 = 0
    /// End-to-end latency in microseconds: post sent → comment received.
    public var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)

    public init() {}

    public mutating func add(_ other: ViewerTotals) {
        deliveries += other.deliveries
        frames += other.frames
        bytes += other.bytes
        missing += other.missing
        shed += other.shed
        merged += other.merged
        duplicated += other.duplicated
        latency.add(other.latency)
    }
}

/// The totals of one client EventLoop's viewers, updated without locks on that loop.
public final class LoopStats {
    public var totals = ViewerTotals()
    /// Inflates permessage-deflate frames for this loop's viewers (created on first use).
    private var inflater: ZlibDecompressor?
    private var inflated = ByteBufferAllocator().buffer(capacity: 1 << 16)

    public init() {}

    /// Inflates one compressed message (RFC 7692) and hands its bytes to `body`.
    public func withInflated(_ payload: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) throws {
        if inflater == nil { inflater = try ZlibDecompressor(algorithm: .deflate) }
        var input = ByteBuffer(bytes: payload)
        input.writeBytes([0x00, 0x00, 0xFF, 0xFF])
        defer { try? inflater?.reset() }
        inflated.clear()
        while true {
            do {
                try inflater!.inflate(from: &input, to: &inflated)
                break
            } catch let error as CompressNIOError where error == .bufferOverflow {
                inflated.reserveCapacity(minimumWritableBytes: inflated.capacity)
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                break
            }
        }
        inflated.withUnsafeReadableBytes(body)
    }

    /// A copy of the totals; with `reset`, rates and latency start afresh (after the warm-up).
    /// Missing and duplicated counts are never reset: correctness covers the whole run.
    public func snapshot(reset: Bool) -> ViewerTotals {
        let copy = totals
        if reset {
            totals.deliveries = 0
            totals.frames = 0
            totals.bytes = 0
            totals.latency.reset()
        }
        return copy
    }
}
