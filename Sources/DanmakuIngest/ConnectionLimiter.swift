// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Open connections, capped per client address (one address cannot take the node's sockets) and
/// for the whole node (the node never runs out of file descriptors).
///
/// The node-wide cap is what keeps a process alive under a crowd: a process at its open-files
/// limit cannot open a Redis connection, a file, or the `/proc` entry libdispatch's worker
/// monitor reads, and libdispatch crashes the process when that open fails. Connections past
/// the cap are answered `503 node_full` and closed, from the descriptors kept in reserve.
///
/// A few of those reserved descriptors serve operators: a full node still answers its health
/// checks and metrics scrapes (`acquireOperatorSlot`), which is when they matter most: a probe
/// refused would restart a healthy node, and a scrape refused would hide why it is full.
public final class ConnectionLimiter: Sendable {
    /// Most open connections per address; 0 means no limit.
    public let maxPerAddress: Int
    /// Most open connections on the node, from all addresses and trusted proxies together.
    public let maxTotal: Int
    private let open = Mutex<[String: Int]>([:])
    private let total = Atomic<Int>(0)
    private let operatorTotal = Atomic<Int>(0)

    /// Descriptors kept for everything but client connections: Redis connections, the archive's
    /// files, each event loop's own, libdispatch's reads of `/proc`, and the connection being
    /// refused.
    public static let reservedDescriptors = 256

    /// Connections a full node still takes, out of `reservedDescriptors`, for operators'
    /// requests only (`/healthz`, `/readyz`, `/metrics`; anything else gets `503 node_full`).
    public static let operatorConnections = 16

    /// - Parameter maxTotal: nil for the process's open-files limit less `reservedDescriptors`.
    public init(maxPerAddress: Int, maxTotal: Int? = nil) {
        self.maxPerAddress = maxPerAddress
        self.maxTotal = maxTotal ?? Self.connectionsTheDescriptorLimitAllows()
    }

    /// The process's open-files limit (its soft limit) less the reserve, at least 1.
    public static func connectionsTheDescriptorLimitAllows() -> Int {
        var limit = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        // No limit (RLIM_INFINITY, all ones) saturates to Int.max below.
        guard getrlimit(resource, &limit) == 0 else { return Int.max / 2 }
        return max(1, Int(clamping: limit.rlim_cur) - reservedDescriptors)
    }

    /// Counts a new connection on the node; false (and nothing counted) when the node holds its
    /// most. Checked before the per-address cap, and released with `releaseNodeSlot`.
    public func acquireNodeSlot() -> Bool {
        Self.increment(total, below: maxTotal)
    }

    /// Forgets a connection counted by `acquireNodeSlot`.
    public func releaseNodeSlot() {
        total.subtract(1, ordering: .relaxed)
    }

    /// Counts a connection of a full node (`acquireNodeSlot` refused it) that may serve operators'
    /// requests only; false when the operators' few are taken too. Released with
    /// `releaseOperatorSlot`.
    public func acquireOperatorSlot() -> Bool {
        Self.increment(operatorTotal, below: Self.operatorConnections)
    }

    /// Adds one to `counter` unless that would reach `limit`; false (and nothing added) then.
    private static func increment(_ counter: borrowing Atomic<Int>, below limit: Int) -> Bool {
        while true {
            let current = counter.load(ordering: .relaxed)
            guard current < limit else { return false }
            if counter.compareExchange(expected: current, desired: current + 1, ordering: .relaxed).exchanged { return true }
        }
    }

    /// Forgets a connection counted by `acquireOperatorSlot`.
    public func releaseOperatorSlot() {
        operatorTotal.subtract(1, ordering: .relaxed)
    }

    /// Connections counted on the node (for tests and metrics).
    public var nodeCount: Int { total.load(ordering: .relaxed) }

    /// Connections of a full node kept for operators (for tests).
    public var operatorCount: Int { operatorTotal.load(ordering: .relaxed) }

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

/// Answers a connection over a cap, then closes it: `429 too_many_connections` over the
/// per-address cap, `503 node_full` over the node's.
public final class ConnectionRefusal: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    public static let error = DanmakuError(
        code: "too_many_connections", status: 429, message: "too many open connections from this address",
        retryAfterSeconds: 1)
    public static let nodeFull = DanmakuError(
        code: "node_full", status: 503, message: "this node holds as many connections as it can; try again later or another node",
        retryAfterSeconds: 1)

    private let refusal: DanmakuError

    public init(_ refusal: DanmakuError = ConnectionRefusal.error) {
        self.refusal = refusal
    }

    public func channelActive(context: ChannelHandlerContext) {
        // Written as bytes: this connection never gets an HTTP codec.
        var body = refusal.httpBody
        let status = HTTPResponseStatus(statusCode: refusal.status)
        var response = ByteBuffer(string: "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nContent-Type: application/json; charset=utf-8\r\n"
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
