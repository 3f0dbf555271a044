import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP relay on an ephemeral port to a server on loopback, for tests that need a connection to
/// fail at a chosen moment: it can swallow what the server answers (a request got through, its
/// answer never arrives) and cut every connection it relays.
public final class TestProxy: Sendable {
    /// The port clients connect to.
    public let port: Int
    private let listener: any Channel
    /// Both ends of every relayed connection.
    private let connections: NIOLockedValueBox<[any Channel]>
    /// While true, bytes from the server are dropped.
    private let swallowing: NIOLockedValueBox<Bool>

    /// Listens, relaying each connection to `target` on 127.0.0.1.
    public static func start(to target: Int) async throws -> TestProxy {
        let connections = NIOLockedValueBox<[any Channel]>([])
        let swallowing = NIOLockedValueBox(false)
        let listener = try await ServerBootstrap(group: TestConnection.group)
            .childChannelInitializer { client in
                ClientBootstrap(group: client.eventLoop).connect(host: "127.0.0.1", port: target).flatMap { server in
                    connections.withLockedValue { $0 += [client, server] }
                    return client.pipeline.addHandler(Relay(peer: server, swallowing: nil)).flatMap {
                        server.pipeline.addHandler(Relay(peer: client, swallowing: swallowing))
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TestProxy(port: listener.localAddress?.port ?? 0, listener: listener, connections: connections, swallowing: swallowing)
    }

    private init(port: Int, listener: any Channel, connections: NIOLockedValueBox<[any Channel]>, swallowing: NIOLockedValueBox<Bool>) {
        self.port = port
        self.listener = listener
        self.connections = connections
        self.swallowing = swallowing
    }

    /// Drops (true) or relays (false) what servers send from now on.
    public func swallowReplies(_ on: Bool) {
        swallowing.withLockedValue { $0 = on }
    }

    /// Closes every relayed connection; new ones are still taken.
    public func cutConnections() async {
        let open = connections.withLockedValue { open in
            defer { open.removeAll() }
            return open
        }
        for channel in open { try? await channel.close() }
    }

    /// Stops listening and cuts every connection.
    public func stop() async {
        try? await listener.close()
        await cutConnections()
    }

    /// Writes what one side reads to the other, and closes the other when this side closes.
    private final class Relay: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let peer: any Channel
        let swallowing: NIOLockedValueBox<Bool>?

        init(peer: any Channel, swallowing: NIOLockedValueBox<Bool>?) {
            self.peer = peer
            self.swallowing = swallowing
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = unwrapInboundIn(data)
            if swallowing?.withLockedValue({ $0 }) == true { return }
            peer.writeAndFlush(bytes, promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            peer.close(promise: nil)
            context.fireChannelInactive()
        }
    }
}
