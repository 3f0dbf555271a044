// Danmaku — a live-stream bullet-comment service.

import CoreMetrics
import DanmakuBus
import DanmakuIngest
import DanmakuPush
import DanmakuRedisBus
import NIOCore
import NIOPosix

extension DanmakuServer {
    /// The push role's hub over every event loop, or nil on a node without the push role.
    func makeHub() -> PushHub? {
        guard configuration.roles.contains(.push) else { return nil }
        var push = configuration.push
        // A push-only node has no logic role to check posts with.
        if !configuration.roles.contains(.api) { push.viewerPosts = false }
        return PushHub(
            configuration: push, eventLoops: Array(group.makeIterator()), services: service, moderation: service.moderation,
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
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            // Viewers send little (pongs, the odd post): a small first receive buffer, grown on
            // demand, keeps idle connections cheap (NIO keeps one pooled per channel).
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536))
            .childChannelInitializer { [configuration, service, rooms, transfer, metrics, connections, openConnections, nodeReports, history] channel in
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
                    var api = configuration.ingest
                    api.acceptsPosts = configuration.roles.contains(.api)
                    api.servesViewers = hub != nil
                    api.nodeName = configuration.push.nodeName
                    try ConnectionPipeline.configure(
                        channel: channel, api: api, push: configuration.push, service: service, rooms: rooms, transfer: transfer,
                        hub: hub, figures: NodeFigures(
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
