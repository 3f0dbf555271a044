// Danmaku — a live-stream bullet-comment service.

import NIOCore
import NIOHTTP1
import NIOWebSocket

/// The WebSocket upgrade for viewers: NIO's upgrader answers the handshake (the key and version
/// checks, `Sec-WebSocket-Accept`), and the viewer's own handlers are added in place of the frame
/// encoder and decoder NIO's upgrade would install.
///
/// Neither is used: the `ProtocolGuard` cuts frames from the socket's bytes, and every frame is
/// written as bytes through the `FrameOutlet`. Installed, they cost an idle viewer about 700
/// bytes (the encoder, which NIO does not let go, its header buffer, the decoder and their
/// contexts).
public struct ViewerSocketUpgrader: HTTPServerProtocolUpgrader, Sendable {
    private let handshake: NIOWebSocketServerUpgrader
    private let upgradePipelineHandler: @Sendable (any Channel, HTTPRequestHead) -> EventLoopFuture<Void>

    /// - Parameters:
    ///   - shouldUpgrade: the extra response headers, or nil to refuse (the request then goes on
    ///     to the HTTP handlers), as for NIO's upgrader.
    ///   - upgradePipelineHandler: adds the viewer's handlers once the 101 is written.
    public init(
        shouldUpgrade: @escaping @Sendable (any Channel, HTTPRequestHead) -> EventLoopFuture<HTTPHeaders?>,
        upgradePipelineHandler: @escaping @Sendable (any Channel, HTTPRequestHead) -> EventLoopFuture<Void>
    ) {
        // Only the handshake of NIO's upgrader is used: its frame size and pipeline step never run.
        self.handshake = NIOWebSocketServerUpgrader(
            maxFrameSize: 1, automaticErrorHandling: false, shouldUpgrade: shouldUpgrade,
            upgradePipelineHandler: { channel, _ in channel.eventLoop.makeSucceededVoidFuture() })
        self.upgradePipelineHandler = upgradePipelineHandler
    }

    public var supportedProtocol: String { handshake.supportedProtocol }

    public var requiredUpgradeHeaders: [String] { handshake.requiredUpgradeHeaders }

    public func buildUpgradeResponse(
        channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders
    ) -> EventLoopFuture<HTTPHeaders> {
        handshake.buildUpgradeResponse(channel: channel, upgradeRequest: upgradeRequest, initialResponseHeaders: initialResponseHeaders)
    }

    public func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        upgradePipelineHandler(context.channel, upgradeRequest)
    }
}
