// Danmaku — a live-stream bullet-comment service.

import NIOCore
import NIOPosix

/// A push node a bench viewer may connect to.
public struct ViewerEndpoint: Sendable, Equatable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// Where and when a bench viewer whose socket closed (its push node killed) connects again: to
/// another push node, after a backoff with jitter, resuming after the last seq it saw in the
/// numbering it saw it in (`?since=SEQ&epoch=E`), as the client libraries do.
public struct ReconnectPolicy: Sendable, Equatable {
    /// Push nodes a viewer may connect to.
    public var endpoints: Int
    /// The first `spreadOver` endpoints take new viewers round robin (viewer `i` joins endpoint
    /// `i % spreadOver`); the rest only take viewers that come back.
    public var spreadOver: Int
    /// The wait before the first attempt; it doubles with each failed attempt, up to `maxDelay`.
    public var firstDelay: TimeAmount
    public var maxDelay: TimeAmount

    public init(endpoints: Int, spreadOver: Int, firstDelay: TimeAmount = .milliseconds(250), maxDelay: TimeAmount = .seconds(8)) {
        self.endpoints = max(1, endpoints)
        self.spreadOver = min(max(1, spreadOver), self.endpoints)
        self.firstDelay = firstDelay
        self.maxDelay = maxDelay
    }

    /// The endpoint of attempt `attempt` (0 for the first) of viewer `viewer`, which lost its
    /// socket to endpoint `lost`: every other endpoint in turn, starting at one chosen so that the
    /// viewers of one endpoint spread evenly over all the others. With one endpoint, that one.
    public func endpoint(viewer: Int, lost: Int, attempt: Int) -> Int {
        guard endpoints > 1 else { return 0 }
        let others = endpoints - 1
        // The viewers that joined one endpoint are those with the same `viewer % spreadOver`:
        // `viewer / spreadOver` numbers them 0, 1, 2, …
        let start = (max(0, viewer) / spreadOver) % others
        return (min(max(0, lost), endpoints - 1) + 1 + (start + max(0, attempt) % others) % others) % endpoints
    }

    /// The wait before attempt `attempt`: `firstDelay` doubled per earlier attempt, at most
    /// `maxDelay`, times a factor between 0.5 and 1.5 taken from `random`, so that the viewers of
    /// a killed node do not all come back in the same instant.
    public func delay(attempt: Int, random: UInt64) -> TimeAmount {
        let ceiling = max(0, maxDelay.nanoseconds)
        var base = max(0, min(firstDelay.nanoseconds, ceiling))
        for _ in 0..<min(max(0, attempt), 40) where base < ceiling {
            base = min(base * 2, ceiling)
        }
        let permille = 500 + Int64(truncatingIfNeeded: random % 1001)
        return .nanoseconds(base / 1000 * permille)
    }

    /// `path` with the resume query: the seqs after `since`, of numbering `epoch` (left out
    /// when the viewer never learnt it).
    public static func resumePath(_ path: String, since: UInt64, epoch: UInt64?) -> String {
        path + (path.contains("?") ? "&" : "?") + "since=\(since)" + (epoch.map { "&epoch=\($0)" } ?? "")
    }
}

/// What a bench viewer needs to come back after its socket closes (`danmaku-bench --reconnect`).
public struct ViewerReconnection: Sendable {
    public var policy: ReconnectPolicy
    /// The viewer's number in its bench, which spreads its attempts (`ReconnectPolicy.endpoint`).
    public var viewer: Int
    /// Opens a socket for the viewer to endpoint N (as `policy` numbers them), on its loop.
    public var dial: @Sendable (NIOLoopBoundBox<BenchViewer>, Int) -> EventLoopFuture<any Channel>

    public init(policy: ReconnectPolicy, viewer: Int, dial: @escaping @Sendable (NIOLoopBoundBox<BenchViewer>, Int) -> EventLoopFuture<any Channel>) {
        self.policy = policy
        self.viewer = viewer
        self.dial = dial
    }

    /// Over real sockets: endpoint N of `endpoints`, from `source`.
    public init(policy: ReconnectPolicy, viewer: Int, endpoints: [ViewerEndpoint], source: String) {
        self.init(policy: policy, viewer: viewer) { bound, target in
            BenchViewer.dial(bound, from: source, to: endpoints[target])
        }
    }
}

extension BenchViewer {
    /// Opens a socket for `viewer` on its loop, from `source` to `endpoint`, with the viewer as
    /// its only handler: the bench's first connection and every reconnection go through here.
    public static func dial(_ viewer: NIOLoopBoundBox<BenchViewer>, from source: String, to endpoint: ViewerEndpoint) -> EventLoopFuture<any Channel> {
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: source, port: 0)
        } catch {
            return viewer.eventLoop.makeFailedFuture(error)
        }
        return ClientBootstrap(group: viewer.eventLoop)
            .bind(to: address)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // Reads start small, since NIO keeps each channel's last receive buffer for the next
            // read (16 KB each was 16 KB per idle viewer), and grow to a hot room's batches: a
            // frame split over reads costs a copy.
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 256, initial: 1024, maximum: 262_144))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(viewer.value) }
            }
            .connect(host: endpoint.host, port: endpoint.port)
    }
}
