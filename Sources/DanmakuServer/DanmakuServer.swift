// Danmaku — a live-stream bullet-comment service.

import DanmakuArchive
import DanmakuAuth
import DanmakuBus
import DanmakuCore
import DanmakuIngest
import DanmakuLogic
import DanmakuPush
import CoreMetrics
import DanmakuRedis
import DanmakuRedisBus
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Prometheus

/// One process running its roles (ingest and logic, push, or all) on one port, over the embedded
/// memory bus or a Redis server shared with other nodes.
///
/// `start()` binds and returns; `shutdown()` stops accepting, sends viewers close 1001, waits for
/// them (bounded by `drainTimeout`) and releases the threads.
public final class DanmakuServer: Sendable {
    /// The configuration the server was built with.
    public let configuration: ServerConfiguration
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let bus: any CommentBus & CommentLog
    /// The Redis bus, when the server runs on one (it has connections to start and stop).
    private let redisBus: RedisBus?
    /// The durable archive, when the server keeps one (closed on shutdown).
    private let archive: ArchivedLog?
    /// The logic tier, shared by HTTP and WebSocket posts.
    public let service: CommentService
    /// Open connections per client address.
    public let connections: ConnectionLimiter
    /// Set once by `start`, read by `port`, `hub` and `shutdown`.
    private let state = NIOLockedValueBox(Running())
    /// This server's metrics, served at `GET /metrics` (one registry per server, no global state).
    public let metrics = PrometheusCollectorRegistry()
    private let metricsFactory: DescribedMetricsFactory
    /// Viewers per room across the deployment.
    private let online = OnlineDirectory()
    private let presence: any PresenceStore
    /// How long each loop slept: the push role's windows leave the rest of the loop free.
    private let loopSleep = LoopSleepMeter()

    /// - Parameter archive: the durable archive opened from `configuration.dataDirectory`
    ///   (`ArchivedLog.open`); the single-process server then keeps every comment in it.
    public init(configuration: ServerConfiguration, logger: Logger = Logger(label: "danmaku"), archive: ArchivedLog? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.archive = archive
        let threads = configuration.threads > 0 ? configuration.threads : CPUAffinity.usableCores()
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: threads, metricsDelegate: LoopTickRecorder(meter: loopSleep))
        self.connections = ConnectionLimiter(maxPerAddress: configuration.ingest.maxConnectionsPerAddress)
        var factory = DescribedMetricsFactory(registry: metrics)
        factory.valueHistogramBuckets[PushMetrics.batchCommentsLabel] = PushMetrics.batchCommentsBuckets
        factory.durationHistogramBuckets[PushMetrics.flushDurationLabel] = PushMetrics.flushDurationBuckets
        factory.durationHistogramBuckets[PushMetrics.busLatencyLabel] = PushMetrics.busLatencyBuckets
        factory.durationHistogramBuckets[LogicMetrics.postDurationLabel] = LogicMetrics.postDurationBuckets
        factory.durationHistogramBuckets[PushMetrics.batchWaitLabel] = PushMetrics.batchWaitBuckets
        factory.durationHistogramBuckets[PushMetrics.fanOutDurationLabel] = PushMetrics.fanOutDurationBuckets
        self.metricsFactory = factory
        switch configuration.bus {
        case .memory:
            self.bus = archive ?? MemoryBus(historyCapacity: configuration.logic.historyCapacity, retention: configuration.roomRetention)
            self.redisBus = nil
        case .redis(let address):
            let redis = RedisBus(
                address: address, eventLoop: group.next(), historyCapacity: configuration.logic.historyCapacity,
                commandTimeout: configuration.busTimeout,
                roomIdleMilliseconds: configuration.roomIdleSeconds > 0 ? Int64(configuration.roomIdleSeconds) * 1000 : nil,
                minReplicas: configuration.busMinReplicas, replicaTimeout: configuration.busReplicaTimeout,
                logger: logger, metrics: BusMetrics(factory: factory))
            self.bus = redis
            self.redisBus = redis
        }
        let failureLogger = logger
        var authenticator: any PostAuthenticator = OpenPosting()
        if let secret = configuration.jwtSecret { authenticator = TokenAuthenticator(secret: secret) }
        let moderation: any ModerationStore = redisBus.map { RedisModeration(bus: $0) } ?? MemoryModeration()
        // Three missed reports and a node's viewers stop counting.
        self.presence = redisBus.map {
            RedisPresence(bus: $0, nodeID: "\(configuration.push.nodeName)-\(UUID().uuidString)", lifetime: configuration.presenceInterval * 3)
        } ?? MemoryPresence()
        // Single process: the SQLite archive, when there is one; a cluster: Redis's own streams.
        let replay: (any ReplayStore)? = archive ?? redisBus.map { RedisReplay(bus: $0) }
        self.service = CommentService(
            configuration: configuration.logic, log: bus, bus: bus, metrics: LogicMetrics(factory: factory),
            authenticator: authenticator, moderation: moderation, online: online, replay: replay,
            onPublishFailure: { failureLogger.error("stored comment not published live", metadata: ["error": "\($0)"]) })
    }

    /// The bound port (valid after `start`).
    public var port: Int { state.withLockedValue { $0.channel?.localAddress?.port ?? 0 } }

    /// Binds the listening socket and starts serving.
    @discardableResult
    public func start() async throws -> SocketAddress {
        if let redisBus {
            redisBus.start()
            do {
                try await redisBus.waitForConnection(timeout: .seconds(2))
            } catch let refusal as RedisError where refusal.isRefusal {
                // A wrong password or a missing permission: a startup error, not a retry loop.
                await redisBus.shutdown()
                throw refusal
            } catch {
                // Serve anyway: posts get 503 until Redis is reachable, and the bus keeps trying.
                logger.warning("redis is not reachable yet; posts are answered 503 until it is", metadata: ["error": "\(error)"])
            }
        }
        var push = configuration.push
        // A push-only node has no logic role to check posts with.
        if !configuration.roles.contains(.api) { push.viewerPosts = false }
        // HTTP and WebSocket alike (refused ones are not counted).
        let openConnections = Meter(label: "danmaku_connections", factory: metricsFactory)
        let hub = configuration.roles.contains(.push) ? PushHub(
            configuration: push, eventLoops: Array(group.makeIterator()), services: service, moderation: service.moderation,
            log: bus, bus: bus, logger: logger, metrics: PushMetrics(factory: metricsFactory), online: online,
            loopSleep: loopSleep) : nil
        let nodeReports = Self.nodeReports(presence: presence, hub: hub, nodeName: push.nodeName)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            // Viewers send little (pongs, the odd post): a small first receive buffer, grown on
            // demand, keeps idle connections cheap (NIO keeps one pooled per channel).
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536))
            .childChannelInitializer { [configuration, service, metrics, connections, openConnections, nodeReports] channel in
                channel.eventLoop.makeCompletedFuture {
                    let addresses = configuration.ingest.clientAddress
                    // A trusted proxy carries many clients: its connections are not capped as one's.
                    let address = addresses.isTrustedProxy(channel.remoteAddress) ? nil : addresses.key(peer: channel.remoteAddress)
                    if let address, !connections.acquire(address) {
                        try channel.pipeline.syncOperations.addHandler(ConnectionRefusal())
                        return
                    }
                    // A close-future callback, not a handler: idle viewers stay as light as they are.
                    openConnections.increment()
                    channel.closeFuture.whenComplete { _ in
                        if let address { connections.release(address) }
                        openConnections.decrement()
                    }
                    try ConnectionPipeline.configure(
                        channel: channel, configuration: configuration, service: service, hub: hub,
                        metricsText: { metrics.emitToBuffer() }, unreadiness: { [weak self] in self?.unreadiness },
                        nodeReports: nodeReports)
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        let presenceLoop = PresenceLoop(store: presence, directory: online, hub: hub, interval: configuration.presenceInterval, logger: logger)
        state.withLockedValue {
            $0.channel = channel
            $0.hub = hub
            $0.presence = Task { await presenceLoop.run() }
        }
        let address = channel.localAddress!
        logger.info("listening", metadata: ["address": "\(address)", "threads": "\(Array(group.makeIterator()).count)"])
        return address
    }

    /// Stops accepting, closes viewers with 1001, and shuts the threads down.
    public func shutdown() async {
        let (channel, hub, presence) = state.withLockedValue { state in
            state.draining = true
            return (state.channel, state.hub, state.presence)
        }
        try? await channel?.close()
        // Withdraws this node's counts while Redis is still connected.
        presence?.cancel()
        await presence?.value
        if let hub {
            let drained = Task { await hub.drain() }
            // Bound the drain: a viewer that never answers is cut off by its close timeout anyway.
            let timeout = Task {
                try await Task.sleep(for: .nanoseconds(configuration.drainTimeout.nanoseconds))
                drained.cancel()
            }
            await drained.value
            timeout.cancel()
            await hub.stop()
        }
        await redisBus?.shutdown()
        await archive?.close()
        try? await group.shutdownGracefully()
        logger.info("stopped")
    }

    /// Why this node should not get traffic now (`GET /readyz`), or nil when it should.
    public var unreadiness: String? {
        if state.withLockedValue({ $0.draining }) { return "shutting down" }
        if let redisBus, !redisBus.isReachable { return "redis is unreachable" }
        return nil
    }

    /// The push hub (valid after `start`), for tests and metrics.
    public var hub: PushHub? { state.withLockedValue { $0.hub } }

    /// Every node's viewers per room, for the dashboard: as the nodes report them to Redis, or
    /// this node's own counts on the memory bus.
    private static func nodeReports(
        presence: any PresenceStore, hub: PushHub?, nodeName: String
    ) -> @Sendable () async -> [String: [String: Int]] {
        { [presence, hub] in
            if let shared = presence as? RedisPresence { return (try? await shared.reports()) ?? [:] }
            guard let hub else { return [:] }
            let counts = await hub.localCounts()
            return [nodeName: Dictionary(uniqueKeysWithValues: counts.map { ($0.key.value, $0.value) })]
        }
    }
}

/// The parts of a server that exist once it is started.
private struct Running {
    var channel: (any Channel)?
    var hub: PushHub?
    var presence: Task<Void, Never>?
    var draining = false
}
