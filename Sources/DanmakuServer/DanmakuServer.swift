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
import ServiceLifecycle

/// One process running its roles (ingest and logic, push, or all) on one port, over the embedded
/// memory bus or a Redis server shared with other nodes.
///
/// `run()` serves until graceful shutdown, run by `DanmakuService` in a `ServiceGroup` (the
/// command's, or a test's). Stopping stops accepting, sends viewers close 1001, waits for them
/// (bounded by `drainTimeout`) and releases Redis, the archive and the threads.
public final class DanmakuServer: Sendable {
    /// The configuration the server was built with.
    public let configuration: ServerConfiguration
    let logger: Logger
    let group: MultiThreadedEventLoopGroup
    let bus: any CommentBus & CommentLog
    /// The Redis bus, when the server runs on one (it has connections to start and stop).
    private let redisBus: RedisBus?
    /// The durable archive, when the server keeps one (closed on shutdown).
    private let archive: ArchivedLog?
    /// The logic tier, shared by HTTP and WebSocket posts.
    public let logic: LogicTier
    /// Open connections per client address.
    public let connections: ConnectionLimiter
    /// Set once the server listens (`run`), read by `port`, `hub` and `unreadiness`.
    private let state = NIOLockedValueBox(Running())
    /// This server's metrics, served at `GET /metrics` (one registry per server, no global state).
    public let metrics = PrometheusCollectorRegistry()
    let metricsFactory: DescribedMetricsFactory
    /// Viewers per room across the deployment.
    let online = OnlineDirectory()
    let presence: any PresenceStore
    /// The last 15 minutes of the dashboard's figures, one sample a second (`StatsRecorder`).
    let history = StatsHistory()
    /// How this node introduces itself in Redis (`danmaku status --bus`), set once it listens.
    private let card = NIOLockedValueBox<NodeCard?>(nil)
    /// How long each loop slept: the push role's windows leave the rest of the loop free.
    let loopSleep = LoopSleepMeter()

    /// - Parameter archive: the durable archive opened from `configuration.dataDirectory`
    ///   (`ArchivedLog.open`); the single-process server then keeps every comment in it. Only on
    ///   the memory bus: on Redis, Redis keeps everything and an archive given is only closed
    ///   (`danmaku serve` refuses `--data-dir` with a Redis bus).
    public init(configuration: ServerConfiguration, logger: Logger = Logger(label: "danmaku"), archive: ArchivedLog? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.archive = archive
        let threads = configuration.threads > 0 ? configuration.threads : CPUAffinity.usableCores()
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: threads, metricsDelegate: LoopTickRecorder(meter: loopSleep))
        self.connections = ConnectionLimiter(
            maxPerAddress: configuration.ingest.maxConnectionsPerAddress, maxTotal: configuration.ingest.maxConnections)
        var factory = DescribedMetricsFactory(registry: metrics)
        factory.valueHistogramBuckets[PushMetrics.batchCommentsLabel] = PushMetrics.batchCommentsBuckets
        factory.durationHistogramBuckets[PushMetrics.flushDurationLabel] = PushMetrics.flushDurationBuckets
        factory.durationHistogramBuckets[PushMetrics.busLatencyLabel] = PushMetrics.busLatencyBuckets
        factory.durationHistogramBuckets[LogicMetrics.postDurationLabel] = LogicMetrics.postDurationBuckets
        factory.durationHistogramBuckets[PushMetrics.batchWaitLabel] = PushMetrics.batchWaitBuckets
        factory.durationHistogramBuckets[PushMetrics.batchDelayLabel] = PushMetrics.batchDelayBuckets
        factory.durationHistogramBuckets[PushMetrics.fanOutDurationLabel] = PushMetrics.fanOutDurationBuckets
        self.metricsFactory = factory
        let backend: Backend
        switch configuration.bus {
        case .memory:
            backend = .local(configuration: configuration, archive: archive)
        case .redis(let address):
            let redis = RedisBus(
                address: address, eventLoop: group.next(), historyCapacity: configuration.logic.historyCapacity,
                commandTimeout: configuration.busTimeout,
                roomIdleMilliseconds: configuration.roomIdleSeconds > 0 ? Int64(saturating: Double(configuration.roomIdleSeconds) * 1000) : nil,
                minReplicas: configuration.busMinReplicas, replicaTimeout: configuration.busReplicaTimeout,
                logger: logger, metrics: BusMetrics(factory: factory))
            let card = self.card
            backend = .redis(redis, configuration: configuration, card: { card.withLockedValue { $0 } })
        }
        self.bus = backend.bus
        self.redisBus = backend.redis
        self.presence = backend.presence
        let failureLogger = logger
        let authenticator: any PostAuthenticator = configuration.jwtSecret.map { TokenAuthenticator(secret: $0) }
            ?? OpenPosting(identity: backend.anonymousIdentity)
        self.logic = LogicTier(
            configuration: configuration.logic, log: backend.bus, bus: backend.bus, metrics: LogicMetrics(factory: factory),
            authenticator: authenticator, moderation: backend.moderation, online: online, replay: backend.replay, likes: backend.likes,
            videos: backend.videos, reports: backend.reports, idempotency: backend.idempotency,
            onPublishFailure: { failureLogger.error("stored comment not published live", metadata: ["error": "\($0)"]) })
    }

    /// The bound port (valid once the server listens).
    public var port: Int { state.withLockedValue { $0.channel?.localAddress?.port ?? 0 } }

    /// Serves until the graceful shutdown of the group around it, then stops its parts in reverse
    /// order of start (the listener, presence reporting, the dashboard's history, the hub's drain,
    /// the Redis connection, the archive's writer) and last the event loops.
    ///
    /// - Parameter onListening: told the bound address once the server accepts connections.
    public func run(onListening: @escaping @Sendable (SocketAddress) -> Void = { _ in }) async throws {
        let (parts, address): ([any Service], SocketAddress)
        do {
            (parts, address) = try await startParts()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        // Run inside the caller's group (`DanmakuService`), this group follows its graceful
        // shutdown. A listener that fails stops the node in order too (viewers told, Redis
        // flushed), not by cancelling every part at once.
        let lifecycle = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: parts.map { part in
                ServiceGroupConfiguration.ServiceConfiguration(
                    service: part, failureTerminationBehavior: part is ListenerPart ? .gracefullyShutdownGroup : .cancelGroup)
            },
            logger: logger))
        onListening(address)
        // The loops outlive every part, on a graceful stop as on a cancelled one: a part that
        // stops submits its last work (the hub's drain, the outbox's flush) to them, and work
        // submitted to a loop that has shut down never completes.
        do {
            try await lifecycle.run()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try? await group.shutdownGracefully()
        logger.info("stopped")
    }

    /// Connects to Redis (a refused password is an error, an unreachable server is not), binds
    /// the listener and starts the push loops; returns the parts in the order they are started,
    /// and the address the listener is bound to.
    private func startParts() async throws -> ([any Service], SocketAddress) {
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
        let hub = makeHub()
        let channel: any Channel
        let address: SocketAddress
        do {
            channel = try await bind(hub: hub)
            // A bound listening socket has an address; its absence is a failed bind.
            guard let bound = channel.localAddress else { throw ChannelError.inappropriateOperationForState }
            address = bound
        } catch {
            // The port is taken, say: nothing started so far may outlive the failed start.
            await hub?.stop()
            await redisBus?.shutdown()
            throw error
        }
        state.withLockedValue {
            $0.channel = channel
            $0.hub = hub
        }
        card.withLockedValue {
            $0 = NodeCard.listening(
                name: configuration.push.nodeName, roles: configuration.roles == .all ? "all" : "\(configuration.roles)",
                host: configuration.host, port: address.port ?? configuration.port, advertised: configuration.advertisedURL)
        }
        logger.info("listening", metadata: ["address": "\(address)", "threads": "\(Array(group.makeIterator()).count)"])
        var parts: [any Service] = []
        // The writer commits appends until the parts that take posts have stopped (a post on a
        // connection still open after that is answered 503, never 201 uncommitted).
        if let archive { parts.append(archive) }
        if let redisBus { parts.append(RedisPart(bus: redisBus)) }
        if let hub { parts.append(PushHubPart(hub: hub, drainTimeout: configuration.drainTimeout)) }
        // Withdraws this node's counts on shutdown, while Redis is still connected.
        parts.append(StatsRecorder(history: history, metrics: metrics))
        parts.append(PresenceLoop(store: presence, directory: online, hub: hub, interval: configuration.presenceInterval, logger: logger))
        parts.append(ListenerPart(channel: channel) { [state] in state.withLockedValue { $0.draining = true } })
        return (parts, address)
    }

    /// Why this node should not get traffic now (`GET /readyz`), or nil when it should.
    public var unreadiness: String? {
        if state.withLockedValue({ $0.draining }) { return "shutting down" }
        if let redisBus, !redisBus.isReachable { return "redis is unreachable" }
        // Only nodes that take posts wait for replicas: a push node serves viewers without them.
        // The detail (which master) is logged by the bus; clients get a fixed reason.
        if let redisBus, configuration.roles.contains(.api), redisBus.replicaShortfall != nil {
            return "waiting for Redis replicas in sync (--bus-min-replicas)"
        }
        return nil
    }

    /// The push hub (valid once the server listens), for tests and metrics.
    public var hub: PushHub? { state.withLockedValue { $0.hub } }
}

/// The parts of a server that exist once it is started.
private struct Running {
    var channel: (any Channel)?
    var hub: PushHub?
    var draining = false
}

extension DanmakuServer {
    /// The push role's hub over every event loop, or nil on a node without the push role.
    func makeHub() -> PushHub? {
        guard configuration.roles.contains(.push) else { return nil }
        var push = configuration.push
        // A push-only node has no logic role to check posts with.
        if !configuration.roles.contains(.api) { push.viewerPosts = false }
        return PushHub(
            configuration: push, eventLoops: Array(group.makeIterator()), services: logic.viewers, moderation: logic.moderation,
            log: bus, bus: bus, logger: logger, metrics: PushMetrics(factory: metricsFactory), online: online,
            loopSleep: loopSleep)
    }

    /// Binds the listening socket; each accepted connection is counted against its address's cap
    /// and gets the HTTP/WebSocket pipeline.
    func bind(hub: PushHub?) async throws -> any Channel {
        // HTTP and WebSocket alike (refused ones are not counted).
        let openConnections = Meter(label: "danmaku_connections", factory: metricsFactory)
        let nodeReports = Self.nodeReports(presence: presence, hub: hub, nodeName: configuration.push.nodeName)
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            // Should descriptors run out anyway, accept() failing is retried after a pause rather
            // than at once, in a loop that would starve the viewers this loop serves.
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(AcceptBackoffHandler()) }
            }
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            // Viewers send little (pongs, the odd post): a small first receive buffer, grown on
            // demand, keeps idle connections cheap (NIO keeps one pooled per channel).
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536))
            .childChannelInitializer { [configuration, logic, metrics, connections, openConnections, nodeReports, history] channel in
                channel.eventLoop.makeCompletedFuture {
                    // The node's cap first: a process out of descriptors cannot reach Redis, and
                    // libdispatch ends it when its own open fails.
                    // A full node keeps a few connections for health checks and metrics scrapes.
                    let operatorsOnly: Bool
                    if connections.acquireNodeSlot() {
                        operatorsOnly = false
                    } else if connections.acquireOperatorSlot() {
                        operatorsOnly = true
                    } else {
                        try channel.pipeline.syncOperations.addHandler(ConnectionRefusal(ConnectionRefusal.nodeFull))
                        return
                    }
                    let releaseSlot = operatorsOnly ? connections.releaseOperatorSlot : connections.releaseNodeSlot
                    let addresses = configuration.ingest.clientAddress
                    // A trusted proxy carries many clients: its connections are not capped as one's.
                    let address = addresses.isTrustedProxy(channel.remoteAddress) ? nil : addresses.key(peer: channel.remoteAddress)
                    if let address, !connections.acquire(address) {
                        releaseSlot()
                        try channel.pipeline.syncOperations.addHandler(ConnectionRefusal())
                        return
                    }
                    // A close-future callback, not a handler: idle viewers stay as light as they are.
                    openConnections.increment()
                    channel.closeFuture.whenComplete { _ in
                        if let address { connections.release(address) }
                        releaseSlot()
                        openConnections.decrement()
                    }
                    var api = configuration.ingest
                    api.operatorRequestsOnly = operatorsOnly
                    api.acceptsPosts = configuration.roles.contains(.api)
                    api.servesViewers = hub != nil
                    api.nodeName = configuration.push.nodeName
                    try ConnectionPipeline.configure(
                        channel: channel, api: api, push: configuration.push, logic: logic, hub: hub,
                        figures: NodeFigures(
                            metricsText: { metrics.emitToBuffer() }, unreadiness: { [weak self] in self?.unreadiness },
                            nodeReports: nodeReports, history: history))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
    }

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
