// Danmaku — a live-stream bullet-comment service.

import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Reads one sample from a server's `GET /metrics` (Prometheus text), e.g. a counter's value.
public enum MetricsScrape {
    /// The body of `GET path` (`/metrics` by default), or nil when the server does not answer
    /// with 200.
    public static func fetch(path: String = "/metrics", host: String, port: Int, group: any EventLoopGroup) async -> String? {
        let received = Received()
        let bootstrap = ClientBootstrap(group: group).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(Collector(received: received))
            }
        }
        guard let channel = try? await bootstrap.connect(host: host, port: port).get() else { return nil }
        try? await channel.writeAndFlush(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: danmaku\r\nConnection: close\r\n\r\n"))
        try? await channel.closeFuture.get()
        let text = received.text
        guard text.hasPrefix("HTTP/1.1 200"), let bodyStart = text.range(of: "\r\n\r\n") else { return nil }
        return String(text[bodyStart.upperBound...])
    }

    /// The value of `name` (a sample without labels) in Prometheus text.
    public static func value(_ name: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return line.split(separator: " ").last.flatMap { Double($0) }
        }
        return nil
    }

    /// Bytes appended on the channel's loop, read once it closed.
    private final class Received: Sendable {
        private let bytes = NIOLockedValueBox<[UInt8]>([])
        var text: String { bytes.withLockedValue { String(decoding: $0, as: UTF8.self) } }
        func append(_ buffer: ByteBuffer) { bytes.withLockedValue { $0 += buffer.readableBytesView } }
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received: Received
        init(received: Received) { self.received = received }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received.append(unwrapInboundIn(data))
        }
    }
}
