// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// A viewer that completes the upgrade, reads its first answer, then never reads again: the
/// slow consumer a push node must cut off without letting its memory grow.
public final class SlowViewer: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private let path: String
    private let counters: ConnectionCounters
    private var stoppedReading = false

    public init(path: String, counters: ConnectionCounters) {
        self.path = path
        self.counters = counters
    }

    public func channelActive(context: ChannelHandlerContext) {
        let request = "GET \(path) HTTP/1.1\r\nHost: danmaku\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !stoppedReading else { return }
        stoppedReading = true
        counters.didJoin()
        // From now on the kernel buffers fill up and the server's writes queue behind them.
        context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
