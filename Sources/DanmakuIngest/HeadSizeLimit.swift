// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore
import NIOHTTP1

/// Refuses requests whose line and headers are over `maxHeaderBytes` with
/// `431 headers_too_large`, then closes the connection.
///
/// It sits right after the HTTP decoder, ahead of the WebSocket upgrader, so upgrade requests are
/// bound too. NIO's parser has its own fixed ceiling (80 KiB); this makes the bound configurable
/// below it.
public final class HeadSizeLimit: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPServerRequestPart
    public typealias InboundOut = HTTPServerRequestPart
    public typealias OutboundOut = HTTPServerResponsePart

    private let maxHeaderBytes: Int
    /// Set once a head was refused: nothing more is read from this connection.
    private var refused = false

    public init(maxHeaderBytes: Int) {
        self.maxHeaderBytes = maxHeaderBytes
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        if case .head(let head) = unwrapInboundIn(data), Self.size(of: head) > maxHeaderBytes {
            refused = true
            refuse(context: context)
            return
        }
        context.fireChannelRead(data)
    }

    /// Bytes of the request line and headers as they were on the wire (give or take whitespace).
    static func size(of head: HTTPRequestHead) -> Int {
        var size = head.method.rawValue.utf8.count + head.uri.utf8.count + 12
        for (name, value) in head.headers {
            size += name.utf8.count + value.utf8.count + 4
        }
        return size
    }

    private func refuse(context: ChannelHandlerContext) {
        let (head, body) = DanmakuError.headersTooLarge(max: maxHeaderBytes).httpResponse(keepAlive: false)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
