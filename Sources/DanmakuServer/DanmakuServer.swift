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
/// `run()` serves until graceful shutdown (as a `Service`); `start()` and `shutdown()` do the same
/// for callers that are not a service group. Stopping stops accepting, sends viewers close 1001,
/// waits for them (bounded by `drainTimeout`) and releases Redis, the archive and the threads.
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
    public let service: CommentService
    /// Room stats, the busiest rooms and history, for the HTTP API.
    let rooms: RoomQueries
    /// Video pools' imports and exports, for the HTTP API.
    let transfer: VideoPoolTransfer
    /// Open connections per client address.
    public let connections: ConnectionLimiter
    /// Set once by `start`, read by `port`, `hub` and `shutdown`.
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
        self.connections = ConnectionLimiter(maxPerAddress: configuration.ingest.maxConnectionsPerAddress)
        var factory = DescribedMetricsFactory(registry: metrics)
        factory.valueHistogramBuckets[PushMetrics.batchCommentsLabel] = PushMetrics.batchCommentsBuckets
        factory.durationHistogramBuckets[PushMetrics.flushDurationLabel] = PushMetrics.flushDurationBuckets
        factory.durationHistogramBuckets[PushMetrics.busLatencyLabel] = PushMetrics.busLatencyBuckets
        factory.durationHistogramBuckets[LogicMetrics.postDurationLabel] = LogicMetrics.postDurationBuckets
        factory.durationHistogramBuckets[PushMetrics.batchWaitLabel] = PushMetrics.batchWaitBuckets
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
        self.rooms = RoomQueries(log: backend.bus, online: online)
        self.transfer = VideoPoolTransfer(videos: backend.videos, authenticator: authenticator, configuration: configuration.logic)
        self.service = CommentService(
            configuration: configuration.logic, log: backend.bus, bus: backend.bus, metrics: LogicMetrics(factory: factory),
            authenticator: authenticator, moderation: backend.moderation, online: online, replay: backend.replay, likes: backend.likes,
            videos: backend.videos, idempotency: backend.idempotency,
            onPublishFailure: { failureLogger.error("stored comment not published live", metadata: ["error": "\($0)"]) })
    }

    /// The bound port (valid after `start`).
    public var port: Int { state.withLockedValue { $0.channel?.localAddress?.port ?? 0 } }

    /// Serves until graceful shutdown (a `Service`'s task: the group around it, or `shutdown()`),
    /// then stops its parts in reverse order of start: the listener, presence reporting, the
    /// hub's drain, the Redis connection, the archive and the event loops.
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
        let lifecycle = ServiceGroup(services: parts, gracefulShutdownSignals: [], cancellationSignals: [], logger: logger)
        let stopRequested = state.withLockedValue {
            $0.lifecycle = lifecycle
            return $0.stopRequested
        }
        if stopRequested { await lifecycle.triggerGracefulShutdown() }
        onListening(address)
        try await lifecycle.run()
        logger.info("stopped")
    }

    /// Starts serving in a task of its own and returns once the port is bound; `shutdown()`
    /// stops it. For callers that are not a `ServiceGroup` (tests, embedding).
    @discardableResult
    public func start() async throws -> SocketAddress {
        try await withCheckedThrowingContinuation { continuation in
            let pending = NIOLockedValueBox<CheckedContinuation<SocketAddress, any Error>?>(continuation)
            let running = Task {
                do {
                    try await run { address in pending.withLockedValue { $0.take() }?.resume(returning: address) }
                } catch {
                    pending.withLockedValue { $0.take() }?.resume(throwing: error)
                }
            }
            state.withLockedValue { $0.running = running }
        }
    }

    /// Stops a server begun with `start()`: stops accepting, closes viewers with 1001 (bounded by
    /// `drainTimeout`), and releases Redis, the archive and the threads.
    public func shutdown() async {
        let (lifecycle, running) = state.withLockedValue { state in
            state.stopRequested = true
            return (state.lifecycle, state.running)
        }
        await lifecycle?.triggerGracefulShutdown()
        _ = await running?.result
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
        var parts: [any Service] = [ServerPart("event loops") { [group] in try? await group.shutdownGracefully() }]
        if let archive { parts.append(ServerPart("archive") { await archive.close() }) }
        if let redisBus { parts.append(ServerPart("redis") { await redisBus.shutdown() }) }
        if let hub {
            parts.append(ServerPart("push hub") { [drainTimeout = configuration.drainTimeout] in
                await Self.drain(hub, timeout: drainTimeout)
            })
        }
        // Withdraws this node's counts on shutdown, while Redis is still connected.
        parts.append(StatsRecorder(history: history, metrics: metrics))
        parts.append(PresenceLoop(store: presence, directory: online, hub: hub, interval: configuration.presenceInterval, logger: logger))
        parts.append(ServerPart("listener") { [state] in
            state.withLockedValue { $0.draining = true }
            try? await channel.close()
        })
        return (parts, address)
    }

    /// Sends every viewer close 1001 and waits for them, at most `timeout`: a viewer that never
    /// answers is cut off by its close timeout anyway.
    private static func drain(_ hub: PushHub, timeout: TimeAmount) async {
        let drained = Task { await hub.drain() }
        let timer = Task {
            try await Task.sleep(for: .nanoseconds(timeout.nanoseconds))
            drained.cancel()
        }
        await drained.value
        timer.cancel()
        await hub.stop()
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

    /// The push hub (valid after `start`), for tests and metrics.
    public var hub: PushHub? { state.withLockedValue { $0.hub } }
}

/// The parts of a server that exist once it is started.
private struct Running {
    var channel: (any Channel)?
    var hub: PushHub?
    /// Stops the parts in reverse order of start.
    var lifecycle: ServiceGroup?
    /// The task `start()` runs the server in.
    var running: Task<Void, Never>?
    /// `shutdown()` was called, perhaps before the lifecycle existed.
    var stopRequested = false
    var draining = false
}
