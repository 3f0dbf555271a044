// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore
import NIOWebSocket

/// The head of an event-stream viewer's pipeline (`GET /v1/rooms/{room}/events`): writes the
/// response head when added, then turns each server frame `ViewerHandler` sends into an event
/// (`EventStream`). The stream goes one way: pings are comment lines no client answers, and the
/// connection ends with an event that says why, without a closing handshake.
final class EventStreamOutlet: ChannelOutboundHandler, RemovableChannelHandler, ViewerOutlet {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        context.writeAndFlush(wrapOutboundOut(EventStream.responseHead), promise: nil)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func send(_ frame: ByteBuffer, batchThrough seq: UInt64?, epoch: Int64) {
        guard let context else { return }
        let id = seq.map { EventStream.id(seq: $0, epoch: epoch) }
        guard let event = EventStream.event(fromFrame: frame, id: id, allocator: context.channel.allocator) else { return }
        context.writeAndFlush(wrapOutboundOut(event), promise: nil)
    }

    /// A dead client shows as a failed or stuck write instead.
    var answersPings: Bool { false }

    func close(code: WebSocketErrorCode, reason: String) {
        guard let context else { return }
        send(ViewerMessage.frame(ViewerMessage.Failure(code: "closed", message: reason, retryAfter: nil)), batchThrough: nil, epoch: 0)
        let channel = context.channel
        context.eventLoop.assumeIsolated().execute { channel.close(promise: nil) }
    }
}

/// Drops whatever an event-stream client sends after its request: the stream only goes one way.
final class DiscardInbound: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
