// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// The end of an event-stream viewer's pipeline (`GET /v1/rooms/{room}/events`): the answer to
/// that request, streamed through the connection's HTTP handlers. Writes the response head when
/// added, then a body part for each server frame `ViewerHandler` sends, turned into an event
/// (`EventStream`). The stream goes one way: pings are comment lines no client answers, and the
/// connection ends with an event that says why, without a closing handshake.
///
/// The answer never ends, so NIO's pipelining handler passes no later request of the connection
/// on: nothing is removed from the pipeline, and no request can reach a handler that does not
/// expect it.
final class EventStreamOutlet: ChannelOutboundHandler, RemovableChannelHandler, ViewerOutlet {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = HTTPServerResponsePart

    private var context: ChannelHandlerContext?
    /// The request's HTTP version, which the answer speaks.
    private let version: HTTPVersion
    /// The request's id, which the answer carries.
    private let requestID: String

    init(version: HTTPVersion, requestID: String) {
        self.version = version
        self.requestID = requestID
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        context.writeAndFlush(wrapOutboundOut(.head(EventStream.responseHead(version: version, requestID: requestID))), promise: nil)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func send(_ frame: ByteBuffer, batchThrough seq: UInt64?, epoch: Int64) {
        guard let context else { return }
        let id = seq.map { EventStream.id(seq: $0, epoch: epoch) }
        guard let event = EventStream.event(fromFrame: frame, id: id, allocator: context.channel.allocator) else { return }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(event))), promise: nil)
    }

    func writeBeforeNext(_ frame: ByteBuffer) {
        guard let context, let event = EventStream.event(fromFrame: frame, id: nil, allocator: context.channel.allocator) else { return }
        context.write(wrapOutboundOut(.body(.byteBuffer(event))), promise: nil)
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

/// The head of an event stream's pipeline: drops whatever the client sends after its request
/// before it is parsed (the stream only goes one way), and keeps the socket read, so that a client
/// that leaves is noticed at once. NIO's pipelining handler reads no more while its answer (the
/// stream) is under way; this handler's reads go straight to the socket.
final class DiscardInbound: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    func handlerAdded(context: ChannelHandlerContext) {
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func channelReadComplete(context: ChannelHandlerContext) {
        context.read()
    }
}
