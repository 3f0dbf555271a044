// Danmaku — a live-stream bullet-comment service.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// What all viewers report while connecting, shared across loops.
public final class ConnectionCounters: Sendable {
    private let box = AtomicCounters()
    public init() {}
    public var joined: Int { box.joined.load() }
    public var failed: Int { box.failed.load() }
    public var closedEarly: Int { box.closedEarly.load() }
    /// Viewers whose socket closed under them and who set out to come back (`--reconnect`).
    public var dropped: Int { box.dropped.load() }
    /// Viewers that came back after a drop (a `hello` on a resumed connection).
    public var rejoined: Int { box.rejoined.load() }
    /// Attempts to come back that failed (refused, or closed before `hello`) and were tried again.
    public var attemptsFailed: Int { box.attemptsFailed.load() }
    /// Resumed connections whose `hello` named another epoch: the room's numbering started over.
    public var restarted: Int { box.restarted.load() }
    /// When the latest viewer came back, µs since 1970 (0 when none did).
    public var lastRejoinMicroseconds: Int { box.lastRejoinMicroseconds.load() }
    /// Viewers that joined and are connected now.
    public var connected: Int { box.joined.load() - box.closedEarly.load() - box.left.load() - box.dropped.load() + box.rejoined.load() }
    /// Viewers on their way back after a drop.
    public var reconnecting: Int { box.dropped.load() - box.rejoined.load() }
    func didJoin() { box.joined.add() }
    public func didFail() { box.failed.add() }
    func didCloseEarly() { box.closedEarly.add() }
    func didLeave() { box.left.add() }
    func didDrop() { box.dropped.add() }
    func didFailAttempt() { box.attemptsFailed.add() }
    func didRestart() { box.restarted.add() }

    func didRejoin() {
        box.rejoined.add()
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        box.lastRejoinMicroseconds.raise(to: now.tv_sec * 1_000_000 + now.tv_nsec / 1000)
    }
}

/// One bench viewer: sends the upgrade, then feeds what arrives to its `FrameReader`, which
/// checks seq continuity of its room (`SeqCheck`), and answers what concerns the connection.
///
/// With a `reconnection`, a viewer whose socket closes under it connects again to another push
/// node, resuming after the last seq it saw (`since`, `epoch`); what the resume brings is checked
/// like any batch, so a seq it misses or gets twice is counted, and only live comments (after the
/// resumed `hello`'s `lastSeq`) count towards latency.
public final class BenchViewer: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// The upgrade's path without a resume query.
    private let path: String
    private let compression: Bool
    private let counters: ConnectionCounters
    private let statsForLoop: @Sendable (any EventLoop) -> LoopStats
    private let reconnection: ViewerReconnection?
    /// Whether the server says `hello` (Danmaku); else the answered upgrade is the join, at seq 0
    /// (Nchan, whose rooms the bench numbers from 1).
    private let saysHello: Bool
    private var handshakeDone = false
    /// The upgrade's answer while it spans reads.
    private var response: ByteBuffer?
    /// The frames after the upgrade, and the room's seqs they bring.
    private let reader: FrameReader
    /// Highest seq seen; nil until `hello`.
    public var lastSeq: UInt64? { reader.lastSeq }
    /// The numbering `lastSeq` belongs to, from `hello` (0: the room had no comment yet).
    public var epoch: UInt64? { reader.epoch }
    private var stopping = false
    /// The socket open now, if any.
    private var channel: (any Channel)?
    /// Whether the socket open now has had its `hello`.
    private var saidHello = false
    /// The endpoint (as `reconnection` numbers them) of the socket that last said `hello`, and
    /// of the one being tried.
    private var endpoint: Int
    private var trying: Int
    /// Attempts made since the socket was lost.
    private var attempt = 0
    /// The upgrade's path for the next socket (with the resume query after a drop).
    private var requestPath: String
    private var pendingAttempt: Scheduled<Void>?

    /// - Parameters:
    ///   - compression: offer permessage-deflate and inflate what arrives compressed.
    ///   - verifyEveryComment: check each comment's seq and time it; else count each batch by its
    ///     first and last seq (`SeqCheck`).
    ///   - reconnection: come back after a close (nil: a close ends the viewer).
    ///   - endpoint: the endpoint of `reconnection` this viewer first connects to.
    ///   - saysHello: false for a server that greets no viewer (`BenchTarget.saysHello`).
    public init(
        path: String, compression: Bool = false, verifyEveryComment: Bool, counters: ConnectionCounters,
        statsForLoop: @escaping @Sendable (any EventLoop) -> LoopStats, reconnection: ViewerReconnection? = nil, endpoint: Int = 0,
        saysHello: Bool = true
    ) {
        self.saysHello = saysHello
        self.path = path
        self.requestPath = path
        self.compression = compression
        self.reader = FrameReader(verifyEveryComment: verifyEveryComment)
        self.counters = counters
        self.statsForLoop = statsForLoop
        self.reconnection = reconnection
        self.endpoint = endpoint
        self.trying = endpoint
    }

    public func channelActive(context: ChannelHandlerContext) {
        reader.stats = statsForLoop(context.eventLoop)
        guard !stopping else {
            context.close(promise: nil)
            return
        }
        channel = context.channel
        handshakeDone = false
        response = nil
        reader.reset()
        saidHello = false
        let request = "GET \(requestPath) HTTP/1.1\r\nHost: danmaku\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            + (compression ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : "") + "\r\n"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        channel = nil
        let hadHello = saidHello
        saidHello = false
        if lastSeq == nil {
            // A join the server refused (its history read failed under load, say): a viewer that
            // comes back tries the same node again, as a client would; others count it as failed.
            if reconnection == nil || stopping {
                counters.didFail()
            } else {
                counters.didFailAttempt()
                scheduleAttempt(on: context.eventLoop)
            }
        } else if stopping {
            if hadHello { counters.didLeave() }
        } else if reconnection == nil {
            counters.didCloseEarly()
        } else {
            if hadHello { counters.didDrop() } else { counters.didFailAttempt() }
            scheduleAttempt(on: context.eventLoop)
        }
    }

    /// Marks the end of the run, so the close that follows is not counted as a failure.
    public func markStopping() {
        stopping = true
    }

    /// Ends the viewer: no more attempts, and its socket (if one is open) closed.
    public func stop() {
        stopping = true
        pendingAttempt?.cancel()
        pendingAttempt = nil
        channel?.close(promise: nil)
    }

    /// A first connection that failed (refused, timed out): with a reconnection, tried again on
    /// the same node like a refused join; without one, a failed viewer.
    public func connectFailed(on loop: any EventLoop) {
        guard reconnection != nil, !stopping else {
            counters.didFail()
            return
        }
        counters.didFailAttempt()
        scheduleAttempt(on: loop)
    }

    /// Waits the policy's backoff, then connects to the next endpoint with the resume query.
    private func scheduleAttempt(on loop: any EventLoop) {
        guard let reconnection, !stopping else { return }
        let policy = reconnection.policy
        let delay = policy.delay(attempt: attempt, random: UInt64.random(in: 0...UInt64.max))
        let target = lastSeq == nil ? endpoint : policy.endpoint(viewer: reconnection.viewer, lost: endpoint, attempt: attempt)
        attempt += 1
        let bound = NIOLoopBound(self, eventLoop: loop)
        pendingAttempt = loop.scheduleTask(in: delay) { bound.value.connect(to: target, on: loop) }
    }

    private func connect(to target: Int, on loop: any EventLoop) {
        pendingAttempt = nil
        guard let reconnection, !stopping else { return }
        trying = target
        requestPath = lastSeq.map { ReconnectPolicy.resumePath(path, since: $0, epoch: epoch) } ?? path
        let bound = NIOLoopBound(self, eventLoop: loop)
        reconnection.dial(NIOLoopBoundBox(self, eventLoop: loop), target)
            .whenFailure { _ in
                bound.value.counters.didFailAttempt()
                bound.value.scheduleAttempt(on: loop)
            }
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        if !handshakeDone {
            if var pending = response {
                pending.writeBuffer(&chunk)
                chunk = pending
                response = nil
            }
            guard let end = chunk.readableBytesView.firstRange(of: [13, 10, 13, 10]) else {
                response = chunk
                return
            }
            let statusLine = chunk.getString(at: chunk.readerIndex, length: min(12, chunk.readableBytes)) ?? ""
            guard statusLine.hasSuffix("101") else {
                // Counted in channelInactive: a failed join, or a failed attempt to come back.
                context.close(promise: nil)
                return
            }
            handshakeDone = true
            chunk.moveReaderIndex(to: end.upperBound)
            if !saysHello { joined(roomLastSeq: 0, roomEpoch: nil) }
        }
        reader.read(&chunk, allocator: context.channel.allocator) { receive($0, context: context) }
    }

    /// What a frame asks of the connection (`FrameReader.Message`).
    private func receive(_ message: FrameReader.Message, context: ChannelHandlerContext) {
        switch message {
        case .hello(let payload):
            hello(payload)
        case .ping(let payload):
            // Answer pings: a client's frames are masked (an all-zero mask keeps the bytes as they are).
            var pong = ByteBuffer()
            pong.writeBytes([0x8A, 0x80 | UInt8(min(payload.count, 125)), 0, 0, 0, 0])
            pong.writeBytes(payload.prefix(125))
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .close:
            context.close(promise: nil)
        }
    }

    /// `hello`: counted as a join, or as a viewer come back after a drop.
    private func hello(_ payload: UnsafeRawBufferPointer) {
        joined(roomLastSeq: BatchScanner.integerField("lastSeq", in: payload) ?? 0, roomEpoch: BatchScanner.integerField("epoch", in: payload))
    }

    private func joined(roomLastSeq: UInt64, roomEpoch: UInt64?) {
        saidHello = true
        switch reader.hello(roomLastSeq: roomLastSeq, roomEpoch: roomEpoch) {
        case .joined:
            attempt = 0
            counters.didJoin()
        case .resumed(let restarted):
            if restarted { counters.didRestart() }
            endpoint = trying
            attempt = 0
            counters.didRejoin()
        }
    }
}

/// Microseconds on the monotonic clock shared by every process on the host.
public func microsecondsNow() -> UInt64 {
    NIODeadline.now().uptimeNanoseconds / 1000
}
