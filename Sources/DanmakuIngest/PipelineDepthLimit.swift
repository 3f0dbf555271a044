// Danmaku — a live-stream bullet-comment service.

import NIOCore
import NIOHTTP1

/// Bounds the requests of one connection that are parsed and not yet answered (pipelined).
///
/// At `maxInFlight` the connection is not read until an answer ends. What a read already under
/// way brought in is parsed all the same (NIO's decoder parses every request in the bytes it has,
/// and NIO's pipelining handler holds them until their turn); past `maxParsed` of those, the rest
/// is dropped unread and the connection closes once the requests before are answered (RFC 9112
/// §9.3.2: a client retries, on a new connection, the pipelined requests a closed connection left
/// unanswered).
///
/// A request after which NIO's parser reads nothing more (`RequestHeaders.endsParsing`: an
/// `Upgrade` header, `CONNECT`) is the connection's last in the same way: the connection is not
/// read after it (the parser would only keep the bytes), and closes once it is answered, unless
/// it becomes a WebSocket (the upgrade takes this handler out, and the read it held goes on).
///
/// It sits right after the HTTP decoder, ahead of NIO's pipelining handler.
public final class PipelineDepthLimit: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPServerRequestPart
    public typealias InboundOut = HTTPServerRequestPart
    public typealias OutboundIn = HTTPServerResponsePart
    public typealias OutboundOut = HTTPServerResponsePart

    private let maxInFlight: Int
    private let maxParsed: Int
    /// Requests passed on whose answer has not ended.
    private var inFlight = 0
    /// A `read()` held while `maxInFlight` requests are unanswered.
    private var readPending = false
    /// Set when a request past `maxParsed` came: nothing more is read or passed on.
    private var overflowed = false
    /// Set when a request after which the parser stops came: nothing more is read once it has
    /// come whole (its body may still be on its way).
    private var lastRequestCame = false
    /// Set when that request's end came.
    private var lastRequestEnded = false

    /// - Parameters:
    ///   - maxInFlight: unanswered requests at which the connection is not read.
    ///   - maxParsed: unanswered requests past which the connection is closed.
    public init(maxInFlight: Int, maxParsed: Int) {
        self.maxInFlight = max(1, maxInFlight)
        self.maxParsed = max(self.maxInFlight, maxParsed)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !overflowed else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard inFlight < maxParsed else {
                overflowed = true
                return
            }
            inFlight += 1
            if RequestHeaders.endsParsing(head) { lastRequestCame = true }
        case .end:
            if lastRequestCame { lastRequestEnded = true }
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    public func read(context: ChannelHandlerContext) {
        guard !overflowed else { return }
        if inFlight < maxInFlight, !lastRequestEnded {
            context.read()
        } else {
            readPending = true
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        // An answer to a refused request (bad bytes, a body over the limit) was never counted.
        inFlight = max(0, inFlight - 1)
        if overflowed || lastRequestCame, inFlight == 0 {
            let channel = context.channel
            let written = promise ?? context.eventLoop.makePromise()
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
            context.write(data, promise: written)
            return
        }
        context.write(data, promise: promise)
        if readPending, !overflowed, !lastRequestEnded, inFlight < maxInFlight {
            readPending = false
            context.read()
        }
    }

    /// Taken out for a WebSocket upgrade: the read held for the upgrade request goes on, for the
    /// new protocol's bytes.
    public func handlerRemoved(context: ChannelHandlerContext) {
        if readPending {
            readPending = false
            context.read()
        }
    }
}
