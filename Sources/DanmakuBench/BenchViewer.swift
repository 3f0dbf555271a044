// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// What all viewers report while connecting, shared across loops.
public final class ConnectionCounters: Sendable {
    private let box = AtomicCounters()
    public init() {}
    public var joined: Int { box.joined.load() }
    public var failed: Int { box.failed.load() }
    public var closedEarly: Int { box.closedEarly.load() }
    /// Viewers that joined and are connected now.
    public var connected: Int { box.joined.load() - box.closedEarly.load() - box.left.load() }
    func didJoin() { box.joined.add() }
    public func didFail() { box.failed.add() }
    func didCloseEarly() { box.closedEarly.add() }
    func didLeave() { box.left.add() }
}

/// One bench viewer: sends the upgrade, then reads frames, checking seq continuity of its room.
///
/// Every viewer checks that each batch starts right after the previous one. Viewers with
/// `verifyEveryComment` also check each comment's seq and record each comment's latency; the
/// rest count `last - first + 1` comments per batch, which keeps the bench cheap at 20M/s.
public final class BenchViewer: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private let path: String
    private let compression: Bool
    private let verifyEveryComment: Bool
    private let counters: ConnectionCounters
    private let statsForLoop: @Sendable (any EventLoop) -> LoopStats
    private var stats: LoopStats!
    private var handshakeDone = false
    private var cumulation: ByteBuffer?
    /// Highest seq seen; nil until `hello`.
    public private(set) var lastSeq: UInt64?
    private var stopping = false

    /// - Parameter compression: offer permessage-deflate and inflate what arrives compressed.
    public init(
        path: String, compression: Bool = false, verifyEveryComment: Bool, counters: ConnectionCounters,
        statsForLoop: @escaping @Sendable (any EventLoop) -> LoopStats
    ) {
        self.path = path
        self.compression = compression
        self.verifyEveryComment = verifyEveryComment
        self.counters = counters
        self.statsForLoop = statsForLoop
    }

    public func channelActive(context: ChannelHandlerContext) {
        stats = statsForLoop(context.eventLoop)
        let request = "GET \(path) HTTP/1.1\r\nHost: danmaku\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            + (compression ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : "") + "\r\n"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        if lastSeq == nil {
            counters.didFail()
        } else if stopping {
            counters.didLeave()
        } else {
            counters.didCloseEarly()
        }
    }

    /// Marks the end of the run, so the close that follows is not counted as a failure.
    public func markStopping() {
        stopping = true
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        if var pending = cumulation {
            pending.writeBuffer(&chunk)
            chunk = pending
        }
        if !handshakeDone {
            guard let end = chunk.readableBytesView.firstRange(of: [13, 10, 13, 10]) else {
                cumulation = chunk
                return
            }
            let statusLine = chunk.getString(at: chunk.readerIndex, length: min(12, chunk.readableBytes)) ?? ""
            guard statusLine.hasSuffix("101") else {
                counters.didFail()
                stopping = true
                context.close(promise: nil)
                return
            }
            handshakeDone = true
            chunk.moveReaderIndex(to: end.upperBound)
        }
        while readFrame(from: &chunk, context: context) {}
        if chunk.readableBytes > 0 {
            // Keep only the partial frame: parsed bytes must not ride along into the next read.
            chunk.discardReadBytes()
            cumulation = chunk
        } else {
            cumulation = nil
        }
    }

    /// Parses one frame off the front of `buffer`; false when it is incomplete.
    private func readFrame(from buffer: inout ByteBuffer, context: ChannelHandlerContext) -> Bool {
        let start = buffer.readerIndex
        guard let first = buffer.getInteger(at: start, as: UInt8.self),
            let second = buffer.getInteger(at: start + 1, as: UInt8.self)
        else { return false }
        var headerLength = 2
        var length = Int(second & 0x7F)
        if length == 126 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt16.self) else { return false }
            length = Int(extended)
            headerLength = 4
        } else if length == 127 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt64.self) else { return false }
            length = Int(extended)
            headerLength = 10
        }
        guard buffer.readableBytes >= headerLength + length else { return false }
        let opcode = first & 0x0F
        let compressed = first & 0x40 != 0
        buffer.withUnsafeReadableBytes { bytes in
            let payload = UnsafeRawBufferPointer(rebasing: bytes[headerLength..<(headerLength + length)])
            guard compressed else { return handle(opcode: opcode, payload: payload, context: context) }
            stats.totals.bytes += UInt64(payload.count)
            do {
                try stats.withInflated(payload) { handle(opcode: opcode, payload: $0, context: context, countBytes: false) }
            } catch {
                context.close(promise: nil)
            }
        }
        buffer.moveReaderIndex(forwardBy: headerLength + length)
        return true
    }

    /// One message; `countBytes` is false for inflated payloads (the wire bytes were counted).
    private func handle(opcode: UInt8, payload: UnsafeRawBufferPointer, context: ChannelHandlerContext, countBytes: Bool = true) {
        switch opcode {
        case 0x1:
            if countBytes { stats.totals.bytes += UInt64(payload.count) }
            switch BatchScanner.kind(payload) {
            case .comments: handleBatch(payload)
            case .hello:
                lastSeq = BatchScanner.integerField("lastSeq", in: payload) ?? 0
                counters.didJoin()
            case .gap:
                let from = BatchScanner.integerField("from", in: payload) ?? 0
                let to = BatchScanner.integerField("to", in: payload) ?? from
                stats.totals.missing += to - from + 1
                lastSeq = max(lastSeq ?? 0, to)
            case .other:
                break
            }
        case 0x9:
            // Answer pings: a client's frames are masked (an all-zero mask keeps the bytes as they are).
            var pong = ByteBuffer()
            pong.writeBytes([0x8A, 0x80 | UInt8(min(payload.count, 125)), 0, 0, 0, 0])
            pong.writeBytes(payload.prefix(125))
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case 0x8:
            context.close(promise: nil)
        default:
            break
        }
    }

    private func handleBatch(_ payload: UnsafeRawBufferPointer) {
        stats.totals.frames += 1
        guard var expected = lastSeq.map({ $0 + 1 }) else { return }
        if let shed = BatchScanner.shed(payload) {
            return handleBudgetedBatch(payload, expected: expected, shed: shed)
        }
        if verifyEveryComment {
            let now = microsecondsNow()
            BatchScanner.forEachComment(payload) { seq, stamp in
                if seq == expected {
                    expected += 1
                } else if seq < expected {
                    stats.totals.duplicated += 1
                    return
                } else {
                    stats.totals.missing += seq - expected
                    expected = seq + 1
                }
                stats.totals.deliveries += 1
                if let stamp, now >= stamp { stats.totals.latency.record(now - stamp) }
            }
            lastSeq = expected - 1
        } else if let (first, last) = BatchScanner.firstAndLastSeq(payload) {
            if first > expected {
                stats.totals.missing += first - expected
            } else if first < expected {
                stats.totals.duplicated += min(last, expected - 1) - first + 1
            }
            if last >= expected {
                stats.totals.deliveries += last - max(first, expected) + 1
                lastSeq = last
            }
        }
    }
}

extension BenchViewer {
    /// A batch under a display budget: it covers the seqs up to its `lastSeq`, of which it
    /// carries some and says how many it shed; only what neither explains is missing.
    fileprivate func handleBudgetedBatch(_ payload: UnsafeRawBufferPointer, expected start: UInt64, shed: (count: UInt64, lastSeq: UInt64)) {
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
            if verifyEveryComment, let stamp, now >= stamp { stats.totals.latency.record(now - stamp) }
        }
        guard shed.lastSeq >= start else { return }
        let covered = shed.lastSeq - start + 1
        stats.totals.shed += shed.count
        if covered > received + shed.count { stats.totals.missing += covered - received - shed.count }
        lastSeq = shed.lastSeq
    }
}

/// Microseconds on the monotonic clock shared by every process on the host.
public func microsecondsNow() -> UInt64 {
    NIODeadline.now().uptimeNanoseconds / 1000
}
