// Danmaku — a live-stream bullet-comment service.

import NIOCore
import NIOHTTP1

/// Holds the next request while the connection's unwritten answers are over its write bound, and
/// does not read meanwhile: a client that sends requests but never reads their answers gets no
/// more answers queued for it than the bound.
///
/// It sits behind NIO's pipelining handler, which passes on one request at a time, each after the
/// previous answer has ended; what is held here is at most that one request's parts (its body is
/// bound by `RequestBodyCollector`, and nothing more is read while it is held). The bound is the
/// channel's write-buffer water mark: past the high mark the channel turns unwritable, below the
/// low mark writable again. A client that reads nothing is closed by `RequestDeadline`, which the
/// held request does not reach.
public final class AnswerBackpressure: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPServerRequestPart
    public typealias InboundOut = HTTPServerRequestPart
    public typealias OutboundIn = HTTPServerResponsePart
    public typealias OutboundOut = HTTPServerResponsePart

    /// Request parts that came while the channel was unwritable, in order.
    private var held: [HTTPServerRequestPart] = []
    /// A `read()` asked for while holding, made once the held parts are passed on.
    private var readPending = false

    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if held.isEmpty, context.channel.isWritable {
            context.fireChannelRead(data)
        } else {
            held.append(unwrapInboundIn(data))
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        if held.isEmpty { context.fireChannelReadComplete() }
    }

    public func read(context: ChannelHandlerContext) {
        if held.isEmpty, context.channel.isWritable {
            context.read()
        } else {
            readPending = true
        }
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        context.fireChannelWritabilityChanged()
        if context.channel.isWritable { release(context: context) }
    }

    /// The handler leaves when the connection stops being HTTP (a WebSocket upgrade), which NIO
    /// does only after a request with nothing behind it: a request held here then could be read
    /// as nothing else, and the connection is closed rather than half-converted.
    public func handlerRemoved(context: ChannelHandlerContext) {
        if !held.isEmpty {
            held.removeAll()
            context.close(promise: nil)
        } else if readPending {
            readPending = false
            context.read()
        }
    }

    /// Passes on the held parts while the channel stays writable, then the read they held up.
    private func release(context: ChannelHandlerContext) {
        var released = false
        while !held.isEmpty, context.channel.isWritable {
            let part = held.removeFirst()
            released = true
            context.fireChannelRead(wrapInboundOut(part))
        }
        if released { context.fireChannelReadComplete() }
        if held.isEmpty, readPending {
            readPending = false
            context.read()
        }
    }
}
