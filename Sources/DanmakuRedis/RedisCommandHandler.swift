// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// A command on its way to Redis and the promise its answer completes.
struct RedisRequest {
    var command: RESPCommand
    var promise: EventLoopPromise<RESPValue>
    var deadline: NIODeadline
}

/// Pipelines commands on one connection: writes each as it comes, completes answers in order.
///
/// Pub/sub messages (`message`, `smessage`) are not answers; they go to `onMessage`. Neither is
/// an `sunsubscribe` no command asked for: a Redis Cluster sends one for each shard channel whose
/// slot left the server; it goes to `onUnsubscribed`. When the
/// oldest command has waited past its deadline the connection is closed (its answers could no
/// longer be matched) and every waiting command fails.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private var waiting = CircularBuffer<RedisRequest>()
    private var timer: Scheduled<Void>?
    /// Whether a flush is due at the end of this turn of the loop (`flush(context:)`).
    private var flushScheduled = false
    private var removed = false
    private let onMessage: (@Sendable (_ channel: ByteBuffer, _ payload: ByteBuffer) -> Void)?
    private let onUnsubscribed: (@Sendable (_ channel: ByteBuffer) -> Void)?

    init(onMessage: (@Sendable (ByteBuffer, ByteBuffer) -> Void)?, onUnsubscribed: (@Sendable (ByteBuffer) -> Void)? = nil) {
        self.onMessage = onMessage
        self.onUnsubscribed = onUnsubscribed
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        var buffer = context.channel.allocator.buffer(capacity: 64)
        request.command.write(to: &buffer)
        waiting.append(request)
        armTimer(context: context)
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    /// Flushes once at the end of this turn of the loop, not once a command: the commands written
    /// meanwhile leave in one system call (and reach Redis in one read). A logic node answering
    /// one read of Redis answers writes the next post's command for each of them; they used to
    /// cost a `write(2)` each. The turn ends within the loop's current tasks, so no command waits
    /// on a timer.
    func flush(context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = loopBound.value
            handler.flushScheduled = false
            guard !handler.removed else { return }
            context.flush()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        if let onMessage, let (channel, payload) = Self.message(value) {
            onMessage(channel, payload)
            return
        }
        if let channel = unaskedUnsubscription(value) {
            onUnsubscribed?(channel)
            return
        }
        guard let request = waiting.popFirst() else {
            context.fireErrorCaught(RESPDecoder.ProtocolError(description: "an answer nobody asked for"))
            context.close(promise: nil)
            return
        }
        if case .error(let message) = value {
            request.promise.fail(RedisError.server(message))
        } else {
            request.promise.succeed(value)
        }
        if waiting.isEmpty {
            timer?.cancel()
            timer = nil
        }
    }

    /// The channel and payload of a pub/sub message, in RESP2 or RESP3 form.
    private static func message(_ value: RESPValue) -> (ByteBuffer, ByteBuffer)? {
        guard let parts = value.array, parts.count == 3, let kind = parts[0].string,
              kind == "smessage" || kind == "message", let channel = parts[1].bytes, let payload = parts[2].bytes
        else { return nil }
        return (channel, payload)
    }

    /// The channel of an `sunsubscribe` that does not answer the oldest waiting command (an
    /// `SUNSUBSCRIBE` of that channel).
    private func unaskedUnsubscription(_ value: RESPValue) -> ByteBuffer? {
        guard let parts = value.array, parts.count == 3, parts[0].string == "sunsubscribe", let channel = parts[1].bytes else { return nil }
        if let oldest = waiting.first, oldest.command.name.uppercased() == "SUNSUBSCRIBE",
           oldest.command.arguments.count < 2 || oldest.command.arguments[1] == channel {
            return nil
        }
        return channel
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError.connectionClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        removed = true
        failAll(RedisError.connectionClosed)
    }

    private func failAll(_ error: any Error) {
        timer?.cancel()
        timer = nil
        while let request = waiting.popFirst() { request.promise.fail(error) }
    }

    /// Keeps one timer, for the oldest command's deadline.
    private func armTimer(context: ChannelHandlerContext) {
        guard timer == nil, let oldest = waiting.first else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: oldest.deadline) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            guard let oldest = handler.waiting.first else { return }
            if oldest.deadline <= .now() {
                handler.failAll(RedisError.timeout(command: oldest.command.name))
                context.close(promise: nil)
            } else {
                handler.armTimer(context: context)
            }
        }
    }
}
