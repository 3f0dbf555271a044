// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore
import NIOWebSocket

/// What the protocol guard hands on.
public enum ViewerInbound: Sendable {
    /// A complete text message: reassembled from its fragments, inflated, valid UTF-8.
    case text(ByteBuffer)
    /// A complete binary message (only where the guard accepts them).
    case binary(ByteBuffer)
    /// A ping (already answered) or a pong: the peer is alive.
    case heartbeat
}

/// RFC 6455 (and RFC 7692's permessage-deflate) on the inbound side of a WebSocket, between the
/// socket's bytes and the handler of messages: frames cut out (`ClientFrameParser`), each frame's
/// mask and reserved bits, an inbound frame rate, fragments reassembled (control frames answered
/// in between) with their size bounded and UTF-8 checked as they arrive, compressed messages
/// inflated, and the closing handshake.
///
/// A violation fails the connection: a close frame with its code, then the TCP connection is
/// closed as soon as that is written. Frames are written as bytes through the `FrameOutlet`.
public final class ProtocolGuard: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ViewerInbound
    public typealias OutboundOut = ByteBuffer

    /// What the guard allows.
    public struct Settings: Sendable {
        /// Largest message, after reassembly and after inflating.
        public var maxMessageBytes: Int
        /// Frames per second the peer may send, with a burst; nil: no limit.
        public var frameRate: RateLimit?
        /// How long a close frame the server sent waits for the peer's before the socket is closed.
        public var closeTimeout: TimeAmount
        /// Whether permessage-deflate was negotiated (RSV1 marks a compressed message).
        public var compression: Bool
        /// Whether binary messages are handed on; otherwise they close the connection (1003).
        public var acceptsBinary: Bool
        /// Most fragments one message may come in.
        public var maxFragments = 1024

        public init(maxMessageBytes: Int, frameRate: RateLimit?, closeTimeout: TimeAmount, compression: Bool, acceptsBinary: Bool) {
            self.maxMessageBytes = maxMessageBytes
            self.frameRate = frameRate
            self.closeTimeout = closeTimeout
            self.compression = compression
            self.acceptsBinary = acceptsBinary
        }
    }

    /// Sent down the pipeline when the guard starts closing on its own (a violation, the peer's
    /// close): the handler after it must write nothing more.
    public struct Closing: Sendable {}

    enum Phase { case open, closing, closed }

    /// A message whose fragments are arriving.
    struct Assembly {
        var opcode: WebSocketOpcode
        var compressed: Bool
        var data: ByteBuffer
        var fragments: Int
        var utf8 = UTF8Validator()
    }

    let settings: Settings
    private var parser: ClientFrameParser
    /// The loop's shared zlib state (viewers), or nil to make one of its own when first needed.
    private let sharedInflater: (() -> FrameCompressor?)?
    private var ownInflater: FrameCompressor?
    var phase = Phase.open
    var assembly: Assembly?
    private var bucket: TokenBucket?
    private(set) var context: ChannelHandlerContext?
    private(set) var outlet: ChannelHandlerContext?

    /// A guard with zlib state of its own (when compression is negotiated).
    public convenience init(settings: Settings) {
        self.init(settings: settings, inflater: nil)
    }

    init(settings: Settings, inflater: (() -> FrameCompressor?)?) {
        self.settings = settings
        self.parser = ClientFrameParser(maxFrameBytes: settings.maxMessageBytes)
        self.sharedInflater = inflater
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        outlet = try? context.pipeline.syncOperations.context(handlerType: FrameOutlet.self)
        precondition(outlet != nil, "ProtocolGuard needs a FrameOutlet at the head of its pipeline")
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        outlet = nil
    }

    // MARK: Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard phase != .closed else { return }
        // After an upgrade, NIO's upgrade handler hands on what it held while upgrading: the
        // bytes that followed the request, or, when NIO's parser had gone on past the upgrade
        // request, requests the client pipelined behind it. Those are not a WebSocket's bytes:
        // the connection is failed rather than a request taken for bytes (which traps).
        guard let bytes = context.channel._channelCore.tryUnwrapData(data, as: ByteBuffer.self) else {
            return fail(.protocolError, "a request pipelined behind the upgrade")
        }
        parser.append(bytes)
        do {
            // Each frame may end the connection (a violation, a close): the phase is checked again.
            while phase != .closed, let frame = try parser.next() {
                handle(frame, context: context)
            }
        } catch {
            parser.reset()
            switch (phase, error) {
            case (.closing, _): context.close(promise: nil)  // we were waiting for the peer's close frame
            case (_, .tooLarge): fail(.messageTooLarge, "message larger than \(settings.maxMessageBytes) bytes")
            case (_, .malformedControlFrame): fail(.protocolError, "control frames must be whole and at most 125 bytes")
            }
        }
        if phase == .closed { parser.reset() }
    }

    private func handle(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        if phase == .closing {
            // Waiting for the peer's answer to our close frame; anything else is dropped.
            if frame.opcode == .connectionClose { context.close(promise: nil) }
            return
        }
        guard takeToken(now: context.eventLoop.now) else { return fail(.policyViolation, "too many messages") }
        // RFC 6455 §5.1: a server must close on an unmasked client frame; checked on every frame.
        guard frame.maskKey != nil else { return fail(.protocolError, "client frames must be masked") }
        guard !frame.rsv2, !frame.rsv3 else { return fail(.protocolError, "reserved bits set without an extension") }
        switch frame.opcode {
        case .ping, .pong, .connectionClose:
            guard frame.fin, !frame.rsv1, frame.length <= 125 else {
                return fail(.protocolError, "control frames must be whole, uncompressed and at most 125 bytes")
            }
            control(frame, context: context)
        case .text, .binary:
            guard assembly == nil else { return fail(.protocolError, "a new message began inside a fragmented one") }
            // RSV1 is permessage-deflate's "compressed" bit, on a message's first frame only.
            guard !frame.rsv1 || settings.compression else { return fail(.protocolError, "reserved bits set without an extension") }
            guard frame.opcode == .text || settings.acceptsBinary else { return fail(.unacceptableData, "binary frames are not supported") }
            assembly = Assembly(opcode: frame.opcode, compressed: frame.rsv1, data: ByteBuffer(), fragments: 0)
            add(frame, context: context)
        case .continuation:
            guard assembly != nil else { return fail(.protocolError, "a continuation frame outside a fragmented message") }
            guard !frame.rsv1 else { return fail(.protocolError, "reserved bits set on a continuation frame") }
            add(frame, context: context)
        default:
            fail(.protocolError, "unknown opcode")
        }
    }

    /// Adds a data frame to the message being assembled, and hands the message on once complete.
    private func add(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        guard var message = assembly else { return }
        var payload = frame.unmaskedData
        guard message.data.readableBytes + payload.readableBytes <= settings.maxMessageBytes else {
            return fail(.messageTooLarge, "message larger than \(settings.maxMessageBytes) bytes")
        }
        guard message.fragments < settings.maxFragments else { return fail(.policyViolation, "more than \(settings.maxFragments) fragments") }
        // Uncompressed text is checked as it arrives: a fragment that breaks UTF-8 ends it there.
        if message.opcode == .text, !message.compressed, !message.utf8.consume(payload.readableBytesView) {
            return fail(.dataInconsistentWithMessage, "text is not valid UTF-8")
        }
        message.fragments += 1
        if frame.fin, message.fragments == 1 {
            message.data = payload  // one frame: no copy
        } else {
            message.data.writeBuffer(&payload)
        }
        guard frame.fin else {
            assembly = message
            return
        }
        assembly = nil
        finish(message, context: context)
    }

    private func finish(_ message: Assembly, context: ChannelHandlerContext) {
        var payload = message.data
        var utf8 = message.utf8
        if message.compressed {
            guard let inflated = inflate(payload, context: context) else { return }
            payload = inflated
            if message.opcode == .text, !utf8.consume(payload.readableBytesView) {
                return fail(.dataInconsistentWithMessage, "text is not valid UTF-8")
            }
        }
        if message.opcode == .text {
            guard utf8.isComplete else { return fail(.dataInconsistentWithMessage, "text is not valid UTF-8") }
            context.fireChannelRead(wrapInboundOut(.text(payload)))
        } else {
            context.fireChannelRead(wrapInboundOut(.binary(payload)))
        }
    }

    private func control(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        switch frame.opcode {
        case .ping:
            outlet?.writeAndFlush(wrapOutboundOut(ServerFrame.frame(opcode: .pong, payload: frame.unmaskedData)), promise: nil)
            context.fireChannelRead(wrapInboundOut(.heartbeat))
        case .pong:
            context.fireChannelRead(wrapInboundOut(.heartbeat))
        default:
            // The peer closes: answer with its code (or the one its malformed close earns) and end.
            let code = Self.closeCode(answering: frame.unmaskedData)
            phase = .closed
            assembly = nil
            context.fireUserInboundEventTriggered(Closing())
            closeAfterWriting(ServerFrame.close(code: code, reason: ""), context: context)
        }
    }

    /// A compressed message's bytes, or nil after failing the connection (too large or corrupt).
    private func inflate(_ data: ByteBuffer, context: ChannelHandlerContext) -> ByteBuffer? {
        let compressor: FrameCompressor?
        if let sharedInflater {
            compressor = sharedInflater()
        } else {
            if ownInflater == nil { ownInflater = try? FrameCompressor() }
            compressor = ownInflater
        }
        guard let compressor else {
            fail(.unexpectedServerError, "compression unavailable")
            return nil
        }
        do {
            return try compressor.inflate(data, maxSize: settings.maxMessageBytes, allocator: context.channel.allocator)
        } catch FrameCompressor.InflateError.tooLarge {
            fail(.messageTooLarge, "message larger than \(settings.maxMessageBytes) bytes")
        } catch {
            fail(.dataInconsistentWithMessage, "compressed message is corrupt")
        }
        return nil
    }

    private func takeToken(now: NIODeadline) -> Bool {
        guard let limit = settings.frameRate else { return true }
        let seconds = Double(now.uptimeNanoseconds) / 1e9
        var current = bucket ?? TokenBucket(limit: limit, now: seconds)
        defer { bucket = current }
        guard current.available(limit: limit, now: seconds) >= 1 else { return false }
        current.take()
        return true
    }
}

/// The closing handshake (RFC 6455 §7): failing the connection on a violation, the last frame
/// before the socket closes (also the answer to the peer's close), and the server's own close
/// (going away, slow consumer, idle).
extension ProtocolGuard {
    /// Fails the connection (RFC 6455 §7.1.7): a close frame with `code`, then the server's side
    /// of the socket is shut once it is written (FIN), and the rest of what the peer sends is
    /// read and dropped until it closes, or for `closeTimeout` at most. (Closing with unread
    /// input would reset the connection, and the peer could lose the close frame.)
    func fail(_ code: WebSocketErrorCode, _ reason: String) {
        guard case .open = phase, let context else { return }
        phase = .closed
        assembly = nil
        context.fireUserInboundEventTriggered(Closing())
        closeAfterWriting(ServerFrame.close(code: code, reason: reason), context: context)
    }

    /// Writes `frame`, then shuts the server's side (a full close where that is not possible),
    /// and closes the socket when the peer does, or after `closeTimeout` at the latest.
    func closeAfterWriting(_ frame: ByteBuffer, context: ChannelHandlerContext) {
        let channel = context.channel
        let deadline = context.eventLoop.scheduleTask(in: settings.closeTimeout) { channel.close(promise: nil) }
        channel.closeFuture.whenComplete { _ in deadline.cancel() }
        guard let outlet else { return channel.close(promise: nil) }
        outlet.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in
            channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
        }
    }

    /// Starts the closing handshake from the server's side (going away, slow consumer, idle):
    /// the close frame, then the socket is closed when the peer answers or after `closeTimeout`.
    public func close(code: WebSocketErrorCode, reason: String) {
        guard case .open = phase, let context else { return }
        phase = .closing
        assembly = nil
        outlet?.writeAndFlush(wrapOutboundOut(ServerFrame.close(code: code, reason: reason)), promise: nil)
        let channel = context.channel
        let timeout = context.eventLoop.scheduleTask(in: settings.closeTimeout) {
            channel.close(promise: nil)
        }
        channel.closeFuture.whenComplete { _ in timeout.cancel() }
    }

    /// The code to answer a peer's close frame with (RFC 6455 §5.5.1, §7.4): its own code when
    /// valid, 1000 for an empty close, 1002 for a one-byte payload, a code that must not be sent
    /// (e.g. 1005, 1006, 1015, below 1000, unassigned) or a reason that is not UTF-8.
    static func closeCode(answering payload: ByteBuffer) -> WebSocketErrorCode {
        var payload = payload
        if payload.readableBytes == 0 { return .normalClosure }
        guard let raw = payload.readInteger(as: UInt16.self),
            String(validating: payload.readableBytesView, as: UTF8.self) != nil
        else { return .protocolError }
        switch raw {
        case 1000...1003, 1007...1014, 3000...4999: return WebSocketErrorCode(codeNumber: Int(raw))
        default: return .protocolError
        }
    }
}
