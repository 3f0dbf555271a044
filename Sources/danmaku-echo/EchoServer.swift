// Danmaku — a live-stream bullet-comment service.

import ArgumentParser
import DanmakuPush
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// A WebSocket echo server built from the viewers' protocol layer (`FrameOutlet`,
/// `ProtocolGuard`, the same permessage-deflate negotiation), so that the Autobahn|Testsuite
/// fuzzing client, which expects every message echoed, can judge that layer. A test tool: not
/// part of `danmaku serve`, and it listens on loopback only.
@main
struct EchoServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "danmaku-echo", abstract: "Echo WebSocket messages through Danmaku's protocol layer (for conformance suites).")

    @Option(help: "Port on 127.0.0.1 (0 picks a free one; printed on start).")
    var port = 9001

    @Option(help: "Largest message, bytes (the suite's cases 1-7 and 12-13 send up to 128 KiB).")
    var maxMessageBytes = 16 << 20

    func run() async throws {
        let settings = ProtocolGuard.Settings(
            maxMessageBytes: maxMessageBytes, frameRate: nil, closeTimeout: .seconds(2), compression: false, acceptsBinary: true)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let upgrader = ViewerSocketUpgrader(
                    shouldUpgrade: { channel, head in
                        var headers = HTTPHeaders()
                        if PerMessageDeflate.accepts(head.headers["Sec-WebSocket-Extensions"]) {
                            headers.add(name: "Sec-WebSocket-Extensions", value: PerMessageDeflate.response)
                        }
                        return channel.eventLoop.makeSucceededFuture(headers)
                    },
                    upgradePipelineHandler: { channel, head in
                        channel.eventLoop.makeCompletedFuture {
                            var negotiated = settings
                            negotiated.compression = PerMessageDeflate.accepts(head.headers["Sec-WebSocket-Extensions"])
                            let pipeline = channel.pipeline.syncOperations
                            try pipeline.addHandler(FrameOutlet(), position: .first)
                            try pipeline.addHandler(ProtocolGuard(settings: negotiated))
                            try pipeline.addHandler(EchoHandler())
                        }
                    })
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        print("danmaku-echo listening on ws://127.0.0.1:\(channel.localAddress?.port ?? port)")
        fflush(nil)  // stdout is a pipe under the test script: the line must go out now
        try await channel.closeFuture.get()
    }
}

/// Writes every message back as it came (text or binary), uncompressed, as one frame.
final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ViewerInbound
    typealias OutboundOut = ByteBuffer
    private var outlet: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        outlet = try? context.pipeline.syncOperations.context(handlerType: FrameOutlet.self)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .text(let payload):
            outlet?.writeAndFlush(wrapOutboundOut(ServerFrame.frame(opcode: .text, payload: payload)), promise: nil)
        case .binary(let payload):
            outlet?.writeAndFlush(wrapOutboundOut(ServerFrame.frame(opcode: .binary, payload: payload)), promise: nil)
        case .heartbeat:
            break
        }
    }
}
