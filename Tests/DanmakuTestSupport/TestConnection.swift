import NIOCore
import NIOPosix

/// A plain TCP client: bytes out, everything received collected, nothing interpreted.
///
/// Used for hostile input (anything can be sent) and as the transport of the test HTTP and
/// WebSocket clients, so that they share no code with the server.
public final class TestConnection: Sendable {
    /// What has arrived so far.
    public struct Received: Sendable {
        public var bytes: [UInt8] = []
        public var closed = false
    }

    /// Everything received so far, and whether the peer closed.
    public let input: Observed<Received>
    private let channel: any Channel

    private init(channel: any Channel, input: Observed<Received>) {
        self.channel = channel
        self.input = input
    }

    /// Shared client threads for all tests.
    public static let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)

    /// Connects to 127.0.0.1:`port`. With `receiveBuffer`, the socket's SO_RCVBUF is set (a slow reader).
    public static func connect(port: Int, autoRead: Bool = true, receiveBuffer: Int? = nil) async throws -> TestConnection {
        let received = Observed(Received())
        var bootstrap = ClientBootstrap(group: group)
            .channelOption(.autoRead, value: autoRead)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(received: received))
                }
            }
        if let receiveBuffer {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBuffer))
        }
        let channel = try await bootstrap.connect(host: "127.0.0.1", port: port).get()
        return TestConnection(channel: channel, input: received)
    }

    public func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    public func send(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    public func send(_ buffer: ByteBuffer) async throws {
        try await channel.writeAndFlush(buffer)
    }

    /// Stops reading from the socket: the peer's writes pile up (a slow consumer).
    public func stopReading() async {
        try? await channel.setOption(.autoRead, value: false).get()
    }

    public func close() async {
        try? await channel.close()
    }

    /// Waits until the server has closed the connection.
    public func waitForClose(timeout: Duration = .seconds(20)) async throws {
        try await input.wait(for: "connection closed", timeout: timeout) { $0.closed }
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received: Observed<Received>

        init(received: Observed<Received>) {
            self.received = received
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            received.update { $0.bytes.append(contentsOf: buffer.readableBytesView) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            received.update { $0.closed = true }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
