// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// The WebSocket frames a bench viewer reads once its upgrade is answered, and the room's seqs
/// their batches bring (`SeqCheck`).
///
/// A frame that a read cuts is gathered until a later read completes it, unless it is a large
/// plain batch, which is read where each read lies (`SkimmedFrame`); a frame longer than
/// `maxFrameBytes` ends the stream. Batches and `gap`s are counted here; what concerns the
/// connection (`hello`, pings, a close) goes to the viewer (`BenchViewer`), which feeds the reader
/// each read.
///
/// A class rather than a struct the viewer holds: the viewer acts on a message (closing the
/// socket, whose `channelInactive` reads `lastSeq`) while a read is still being parsed, and a
/// struct's mutating method would hold the viewer's copy exclusively all that time.
final class FrameReader {
    /// What a frame asks of the connection.
    enum Message {
        /// The server's `hello`, with its payload.
        case hello(UnsafeRawBufferPointer)
        /// A ping, to be answered with its payload.
        case ping(UnsafeRawBufferPointer)
        /// A close frame, or a stream the bench does not read (a compressed frame that does not
        /// inflate, a length past `maxFrameBytes`): the socket is to be closed.
        case close
    }

    private let verifyEveryComment: Bool
    /// The room's seqs as they arrive.
    private var seqs: SeqCheck
    /// The totals of the viewer's loop, set as each socket opens.
    var stats: LoopStats!
    /// A frame a read left partial, gathered until it is whole.
    private var cumulation: ByteBuffer?
    /// A large plain batch being read across reads without gathering it.
    private var skimming: SkimmedFrame?

    /// - Parameter verifyEveryComment: check each comment's seq and time it; else count each
    ///   batch by its first and last seq (`SeqCheck`).
    init(verifyEveryComment: Bool) {
        self.verifyEveryComment = verifyEveryComment
        self.seqs = SeqCheck(verifyEveryComment: verifyEveryComment)
    }

    /// Highest seq seen; nil until `hello`.
    var lastSeq: UInt64? { seqs.lastSeq }
    /// The numbering `lastSeq` belongs to, from `hello` (0: the room had no comment yet).
    var epoch: UInt64? { seqs.epoch }

    /// A `hello` (or, from a server that says none, the answered upgrade): a join, or a comeback.
    func hello(roomLastSeq: UInt64, roomEpoch: UInt64?) -> SeqCheck.Hello {
        seqs.hello(roomLastSeq: roomLastSeq, roomEpoch: roomEpoch)
    }

    /// A new socket: nothing the last one left partial carries over (the room's seqs do).
    func reset() {
        cumulation = nil
        skimming = nil
    }

    /// Reads the frames of one read, `chunk`, handing `deliver` what concerns the connection;
    /// whatever frame `chunk` leaves partial is kept for the next read.
    func read(_ chunk: inout ByteBuffer, allocator: ByteBufferAllocator, _ deliver: (Message) -> Void) {
        if skimming != nil, !continueSkimming(&chunk) {
            return
        } else if cumulation != nil, !completePendingFrame(from: &chunk, deliver) {
            return
        }
        while readFrame(from: &chunk, deliver) {}
        guard chunk.readableBytes > 0 else { return }
        guard Self.frameExtent(chunk).bytes <= Self.maxFrameBytes else {
            // A length no server of ours sends: the stream is not what the bench reads.
            deliver(.close)
            return
        }
        if startSkimming(&chunk) { return }
        // Keep only the partial frame, in a buffer the size of the whole frame when its header
        // says it: the next read completes it without growing it.
        var pending = allocator.buffer(capacity: max(Self.frameExtent(chunk).bytes, chunk.readableBytes))
        pending.writeBuffer(&chunk)
        cumulation = pending
    }

    /// Completes the frame a previous read left partial, taking from `chunk` only the bytes it
    /// still needs (the rest of the read is parsed where it lies, not copied). False when
    /// `chunk` ran out first.
    private func completePendingFrame(from chunk: inout ByteBuffer, _ deliver: (Message) -> Void) -> Bool {
        guard var pending = cumulation else { return true }
        cumulation = nil
        while true {
            let extent = Self.frameExtent(pending)
            if extent.complete, pending.readableBytes >= extent.bytes {
                _ = readFrame(from: &pending, deliver)
                return true
            }
            guard chunk.readableBytes > 0 else {
                cumulation = pending
                return false
            }
            var needed = chunk.readSlice(length: min(extent.bytes - pending.readableBytes, chunk.readableBytes))!
            pending.writeBuffer(&needed)
        }
    }

    /// Reads the partial frame at the front of `chunk` (all of `chunk`) where it lies when it is
    /// a plain batch whose head is here (`SkimmedFrame`); false when it must be gathered whole.
    private func startSkimming(_ chunk: inout ByteBuffer) -> Bool {
        let extent = Self.frameExtent(chunk)
        guard extent.complete, let first = chunk.getInteger(at: chunk.readerIndex, as: UInt8.self), first & 0x4F == 0x01 else { return false }
        let frame = chunk.withUnsafeReadableBytes { bytes in
            SkimmedFrame(
                payloadLength: extent.bytes - extent.header, payloadStart: UnsafeRawBufferPointer(rebasing: bytes[extent.header...]),
                everyComment: verifyEveryComment, seqs: &seqs, stats: stats)
        }
        guard let frame else { return false }
        skimming = frame
        chunk.moveReaderIndex(to: chunk.writerIndex)
        return true
    }

    /// Feeds the frame being read what it still needs of `chunk`; true once it is complete and
    /// counted (the rest of `chunk` is then parsed where it lies).
    private func continueSkimming(_ chunk: inout ByteBuffer) -> Bool {
        guard var frame = skimming else { return true }
        let taken = min(frame.remaining, chunk.readableBytes)
        chunk.withUnsafeReadableBytes { frame.take(UnsafeRawBufferPointer(rebasing: $0[..<taken]), seqs: &seqs, stats: stats) }
        chunk.moveReaderIndex(forwardBy: taken)
        guard frame.remaining == 0 else {
            skimming = frame
            return false
        }
        skimming = nil
        frame.finish(seqs: &seqs, stats: stats)
        return true
    }

    /// The largest frame a viewer reads (header and payload): far above a batch of the widest
    /// window; a longer one closes the connection.
    static let maxFrameBytes = 64 << 20
    /// `maxFrameBytes` as a wire length is compared.
    private static let maxWireLength = UInt64(clamping: maxFrameBytes)

    /// The bytes the frame at the front of `buffer` spans (`complete`) and how many of them are
    /// its header, or, while its header is not all there, the bytes needed to know that; a length
    /// past `maxFrameBytes` reads as `maxFrameBytes` of payload (more than a frame may span).
    static func frameExtent(_ buffer: ByteBuffer) -> (bytes: Int, header: Int, complete: Bool) {
        guard let second = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self) else { return (2, 2, false) }
        let length = Int(second & 0x7F)
        let header = length == 127 ? 10 : length == 126 ? 4 : 2
        guard buffer.readableBytes >= header else { return (header, header, false) }
        switch length {
        case 126: return (header + Int(buffer.getInteger(at: buffer.readerIndex + 2, as: UInt16.self)!), header, true)
        case 127:
            // A length from the wire: bounded before it is an Int, so `header + length` cannot overflow.
            let length = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt64.self)!
            return (header + Int(clamping: min(length, maxWireLength)), header, true)
        default: return (header + length, header, true)
        }
    }

    /// Parses one frame off the front of `buffer`; false when it is incomplete (or longer than
    /// `maxFrameBytes`, which `read` then refuses).
    private func readFrame(from buffer: inout ByteBuffer, _ deliver: (Message) -> Void) -> Bool {
        let extent = Self.frameExtent(buffer)
        guard extent.complete, extent.bytes <= Self.maxFrameBytes, buffer.readableBytes >= extent.bytes,
            let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self)
        else { return false }
        let (headerLength, length) = (extent.header, extent.bytes - extent.header)
        let opcode = first & 0x0F
        let compressed = first & 0x40 != 0
        buffer.withUnsafeReadableBytes { bytes in
            let payload = UnsafeRawBufferPointer(rebasing: bytes[headerLength..<(headerLength + length)])
            guard compressed else { return handle(opcode: opcode, payload: payload, deliver) }
            stats.totals.bytes += UInt64(payload.count)
            do {
                try stats.withInflated(payload) { handle(opcode: opcode, payload: $0, countBytes: false, deliver) }
            } catch {
                deliver(.close)
            }
        }
        buffer.moveReaderIndex(forwardBy: headerLength + length)
        return true
    }

    /// One message: batches and `gap`s counted, the rest handed to `deliver`; `countBytes` is
    /// false for inflated payloads (the wire bytes were counted).
    private func handle(opcode: UInt8, payload: UnsafeRawBufferPointer, countBytes: Bool = true, _ deliver: (Message) -> Void) {
        switch opcode {
        case 0x1, 0x2:
            if countBytes { stats.totals.bytes += UInt64(payload.count) }
            switch BatchScanner.kind(payload) {
            case .comments: seqs.batch(payload, stats: stats)
            case .hello:
                deliver(.hello(payload))
            case .gap:
                let from = BatchScanner.integerField("from", in: payload) ?? 0
                let to = BatchScanner.integerField("to", in: payload) ?? from
                seqs.gap(from: from, to: to, stats: stats)
            case .other:
                break
            }
        case 0x9:
            deliver(.ping(payload))
        case 0x8:
            deliver(.close)
        default:
            break
        }
    }
}
