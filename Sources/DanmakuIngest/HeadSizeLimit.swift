// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore
import NIOHTTP1

/// Refuses requests whose line and headers are over `maxHeaderBytes` (and those whose `Upgrade`
/// names more than `RequestHeaders.maxUpgradeProtocols` protocols, as malformed: NIO's upgrade
/// handler recurses once per name): the request is not passed
/// on, and nothing after it is; NIO's parser's own `headerOverflow` error is raised in its place,
/// so the refusal (`431 headers_too_large`, then the connection is closed) is answered by
/// `RequestBodyCollector` and the API handler in order, after the requests before it.
///
/// It sits right after the HTTP decoder, ahead of the WebSocket upgrader, so upgrade requests are
/// bound too. NIO's parser has its own fixed ceiling (80 KiB); this makes the bound configurable
/// below it.
public final class HeadSizeLimit: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPServerRequestPart
    public typealias InboundOut = HTTPServerRequestPart

    private let maxHeaderBytes: Int
    /// Set once a head was refused: nothing more is read from this connection.
    private var refused = false

    public init(maxHeaderBytes: Int) {
        self.maxHeaderBytes = maxHeaderBytes
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        guard case .head(let head) = unwrapInboundIn(data) else { return context.fireChannelRead(data) }
        // NIO's pipelining handler holds a parser error until the answers before it are sent.
        if Self.size(of: head) > maxHeaderBytes {
            refused = true
            context.fireErrorCaught(HTTPParserError.headerOverflow)
            return
        }
        if RequestHeaders.upgradeProtocolCount(head.headers) > RequestHeaders.maxUpgradeProtocols {
            refused = true
            context.fireErrorCaught(HTTPParserError.invalidHeaderToken)
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
}
