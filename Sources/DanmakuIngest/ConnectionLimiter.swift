// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore
import Synchronization

/// Open connections per client address, capped: one address cannot take the node's sockets.
public final class ConnectionLimiter: Sendable {
    /// Most open connections per address; 0 means no limit.
    public let maxPerAddress: Int
    private let open = Mutex<[String: Int]>([:])

    public init(maxPerAddress: Int) {
        self.maxPerAddress = maxPerAddress
    }

    /// Counts a new connection from `address`; false (and nothing counted) when it is over the cap.
    public func acquire(_ address: String) -> Bool {
        guard maxPerAddress > 0 else { return true }
        return open.withLock { open in
            let current = open[address, default: 0]
            guard current < maxPerAddress else { return false }
            open[address] = current + 1
            return true
        }
    }

    /// Forgets a connection counted by `acquire`.
    public func release(_ address: String) {
        guard maxPerAddress > 0 else { return }
        open.withLock { open in
            let remaining = open[address, default: 1] - 1
            open[address] = remaining > 0 ? remaining : nil
        }
    }

    /// Connections counted for `address` (for tests).
    public func count(_ address: String) -> Int {
        open.withLock { $0[address, default: 0] }
    }
}

/// Answers a connection over the per-address cap with `429 too_many_connections`, then closes it.
public final class ConnectionRefusal: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    public static let error = DanmakuError(
        code: "too_many_connections", status: 429, message: "too many open connections from this address",
        retryAfterSeconds: 1)

    public init() {}

    public func channelActive(context: ChannelHandlerContext) {
        // Written as bytes: this connection never gets an HTTP codec.
        var body = Self.error.httpBody
        var response = ByteBuffer(string: "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json; charset=utf-8\r\n"
            + "Retry-After: 1\r\nConnection: close\r\nContent-Length: \(body.readableBytes)\r\n\r\n")
        response.writeBuffer(&body)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(response)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Whatever the client sends is not read: the answer is already on its way.
    }
}
