// Danmaku — a live-stream bullet-comment service.

import NIOCore
import NIOHTTP1

/// Closes an HTTP connection unless a complete request arrives within `timeout` of the
/// connection opening or of the previous answer's end.
///
/// Unlike a read-idle timer, a client cannot extend it by trickling bytes (slowloris), by sending
/// a body that never ends, or by holding an idle keep-alive. A request being answered is not timed
/// (the API has its own bounds on the work behind it). Removed when the connection stops being
/// HTTP (a WebSocket upgrade, an event stream): the viewer's heartbeat takes over.
public final class RequestDeadline: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPServerRequestPart
    public typealias InboundOut = HTTPServerRequestPart
    public typealias OutboundIn = HTTPServerResponsePart
    public typealias OutboundOut = HTTPServerResponsePart

    private let timeout: TimeAmount
    /// When the connection is closed unless a request has come by then; nil while one is answered.
    private var due: NIODeadline?
    /// The one timer, due at or before `due`: a request's answer moves `due` on without touching
    /// it (a cancel and a new timer per request were a few percent of a post), and the timer,
    /// when it fires early, waits again for what is left.
    private var timer: Scheduled<Void>?

    public init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        arm(context: context)
        context.fireChannelActive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        due = nil
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The request is complete: it is being answered, and not timed.
        if case .end = unwrapInboundIn(data) { due = nil }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // The answer is complete: the next request has `timeout` to arrive.
        if case .end = unwrapOutboundIn(data) { arm(context: context) }
        context.write(data, promise: promise)
    }

    private func arm(context: ChannelHandlerContext) {
        let deadline = context.eventLoop.now + timeout
        due = deadline
        if timer == nil { schedule(at: deadline, context: context) }
    }

    private func schedule(at deadline: NIODeadline, context: ChannelHandlerContext) {
        let channel = context.channel
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            // A request under way is not timed: its answer schedules the next timer.
            guard let due else { return }
            if due <= context.eventLoop.now {
                channel.close(promise: nil)
            } else {
                schedule(at: due, context: context)
            }
        }
    }
}
