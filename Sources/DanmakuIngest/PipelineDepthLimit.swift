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

    /// - Parameters:
    ///   - maxInFlight: unanswered requests at which the connection is not read.
    ///   - maxParsed: unanswered requests past which the connection is closed.
    public init(maxInFlight: Int, maxParsed: Int) {
        self.maxInFlight = max(1, maxInFlight)
        self.maxParsed = max(self.maxInFlight, maxParsed)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !overflowed else { return }
        if case .head = unwrapInboundIn(data) {
            guard inFlight < maxParsed else {
                overflowed = true
                return
            }
            inFlight += 1
        }
        context.fireChannelRead(data)
    }

    public func read(context: ChannelHandlerContext) {
        guard !overflowed else { return }
        if inFlight < maxInFlight {
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
        if overflowed, inFlight == 0 {
            let channel = context.channel
            let written = promise ?? context.eventLoop.makePromise()
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
            context.write(data, promise: written)
            return
        }
        context.write(data, promise: promise)
        if readPending, !overflowed, inFlight < maxInFlight {
            readPending = false
            context.read()
        }
    }
}
