import Foundation
import NIOCore
import NIOPosix

/// A stand-in OpenTelemetry collector on loopback: answers every HTTP POST with 200 and keeps the
/// request bodies (an OTLP/HTTP exporter's exports), several requests per connection.
public final class OTLPReceiver: Sendable {
    /// What was posted: path and body, in arrival order.
    public let requests: Observed<[(path: String, body: Data)]>
    private let channel: any Channel

    public var port: Int { channel.localAddress?.port ?? 0 }

    public static func start() async throws -> OTLPReceiver {
        let requests = Observed<[(path: String, body: Data)]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(RequestRecorder(requests: requests)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return OTLPReceiver(channel: channel, requests: requests)
    }

    private init(channel: any Channel, requests: Observed<[(path: String, body: Data)]>) {
        self.channel = channel
        self.requests = requests
    }

    public func stop() async {
        try? await channel.close()
    }

    /// Collects bytes until a request (head and `Content-Length` body) is complete, records it and
    /// answers 200.
    private final class RequestRecorder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let requests: Observed<[(path: String, body: Data)]>
        var received: [UInt8] = []

        init(requests: Observed<[(path: String, body: Data)]>) {
            self.requests = requests
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += Array(unwrapInboundIn(data).readableBytesView)
            while let end = received.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound {
                let head = String(decoding: received[..<end], as: UTF8.self)
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                guard received.count >= end + length else { return }
                let path = head.split(separator: " ").dropFirst().first.map(String.init) ?? ""
                let body = Data(received[end..<(end + length)])
                received.removeFirst(end + length)
                requests.update { $0.append((path, body)) }
                let answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                context.writeAndFlush(NIOAny(ByteBuffer(string: answer)), promise: nil)
            }
        }
    }
}
