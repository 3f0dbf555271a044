// Danmaku — a live-stream bullet-comment service.

import Logging
import NIOCore
import Synchronization

/// What the router's seed is, and the connections that follow from it: one server used as given,
/// a cluster's masters by slot (the slot map read at start, every two seconds and soon after any
/// error that may mean the cluster changed), or the primary the Sentinels name (asked at start,
/// every two seconds and soon after an error that may mean a failover). Masters that leave the
/// map are disconnected and new ones connected. `RedisRouter` sends commands where this says.
final class RedisTopology: Sendable {
    /// The address given: credentials, TLS and database for every node.
    let seed: RedisAddress
    let eventLoop: any EventLoop
    let commandTimeout: TimeAmount
    let logger: Logger
    let onConnect: (@Sendable (RedisConnection) -> EventLoopFuture<Void>)?
    let subscriber: RedisRouter.Subscriber?

    typealias Mode = RedisRouter.Mode

    /// A node's connections: commands, and subscriptions for a subscribing router.
    struct Connections {
        var commands: RedisClient
        var subscriptions: RedisClient?
    }

    private struct State {
        var mode = Mode.detecting
        /// The one server commands go to, standalone or named by the Sentinels.
        var primary: RedisNode?
        var slotMap: RedisClusterTopology?
        /// Bumped whenever the slot map changes, so that subscribers re-check their channels.
        var version = 0
        var nodes: [RedisNode: Connections] = [:]
        /// A question about the topology is out (`CLUSTER SLOTS`, or a Sentinel's).
        var asking = false
        var refreshWanted = false
        var lastRefresh = NIODeadline.distantPast
        var closed = false
        var timer: RepeatedTask?
        var ticks = 0
        /// Connections to the Sentinels, for `redis-sentinel://`.
        var sentinels: [RedisClient] = []

        /// The node serving `slot` (any node for nil), nil while not known.
        func node(forSlot slot: Int?) -> RedisNode? {
            switch mode {
            case .detecting: nil
            case .standalone, .sentinel: primary
            case .cluster: slot.flatMap { slotMap?.owner(ofSlot: $0) } ?? (slot == nil ? nodes.keys.first : nil)
            }
        }
    }

    private let state = Mutex(State())
    private var seedNode: RedisNode { RedisNode(host: seed.host, port: seed.port) }

    /// The map is read again this often (ticks of 100 ms) even when nothing went wrong.
    static let refreshEvery = 20
    static let minRefreshSpacing = TimeAmount.milliseconds(100)

    init(
        seed: RedisAddress, eventLoop: any EventLoop, commandTimeout: TimeAmount, logger: Logger,
        onConnect: (@Sendable (RedisConnection) -> EventLoopFuture<Void>)?, subscriber: RedisRouter.Subscriber?
    ) {
        self.seed = seed
        self.eventLoop = eventLoop
        self.commandTimeout = commandTimeout
        self.logger = logger
        self.onConnect = onConnect
        self.subscriber = subscriber
    }

    /// Connects to the seed and starts finding out what it is (or asks the Sentinels for the primary).
    func start() {
        let timer = eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(20), delay: .milliseconds(100)) { [self] _ in tick() }
        if let sentinel = seed.sentinel {
            let clients = sentinel.nodes.map { node in
                // Sentinels take no login of the data nodes', nor TLS settings meant for them.
                RedisClient(address: RedisAddress(host: node.host, port: node.port), eventLoop: eventLoop, commandTimeout: commandTimeout, logger: logger)
            }
            for client in clients { client.start() }
            state.withLock {
                $0.mode = .sentinel
                $0.sentinels = clients
                $0.timer = timer
            }
            return
        }
        let connections = makeConnections(for: seedNode)
        state.withLock {
            $0.nodes[seedNode] = connections
            $0.timer = timer
        }
    }

    /// Closes every connection.
    func close() async {
        let clients = state.withLock { state -> [RedisClient] in
            state.closed = true
            state.timer?.cancel()
            defer {
                state.nodes = [:]
                state.sentinels = []
            }
            return state.nodes.values.flatMap { [$0.commands] + ($0.subscriptions.map { [$0] } ?? []) } + state.sentinels
        }
        for client in clients { await client.close() }
    }

    // MARK: What the router asks

    var mode: Mode { state.withLock { $0.mode } }

    /// Changes whenever the slot map (or the Sentinels' primary) does.
    var version: Int { state.withLock { $0.version } }

    /// Whether the mode is known and every connection is up.
    var isConnected: Bool {
        state.withLock { state in
            state.mode != .detecting && !state.nodes.isEmpty && (state.mode != .sentinel || state.primary != nil)
                && state.nodes.values.allSatisfy { $0.commands.isConnected && ($0.subscriptions?.isConnected ?? true) }
        }
    }

    /// Whether the mode is known and a command connection is up.
    var isReachable: Bool {
        state.withLock { state in
            state.mode != .detecting && state.nodes.values.contains { $0.commands.isConnected }
        }
    }

    /// The nodes connected to.
    var nodes: [RedisNode] { state.withLock { Array($0.nodes.keys) } }

    /// A refusal (a wrong password, a missing permission) one of the connections got, if any.
    var refusal: RedisError? {
        state.withLock { $0.nodes.values.flatMap { [$0.commands] + ($0.subscriptions.map { [$0] } ?? []) } }.lazy.compactMap(\.refusal).first
    }

    /// Why the router is not connected yet, for the error `waitForConnection` throws.
    var whyNotConnected: String {
        switch mode {
        case .detecting: "\(seed) did not say whether it is a cluster node"
        case .sentinel where state.withLock({ $0.primary == nil }): "no Sentinel of \(seed) named the primary"
        default: "not every node of \(seed) is connected"
        }
    }

    /// The node serving `slot` now (any node for nil), nil while it is not known.
    func node(forSlot slot: Int?) -> RedisNode? {
        state.withLock { $0.node(forSlot: slot) }
    }

    /// The command client of `node`, else of the node serving `slot`; nil while none is known.
    func commandClient(node: RedisNode?, slot: Int?) -> RedisClient? {
        state.withLock { state in (node ?? state.node(forSlot: slot)).flatMap { state.nodes[$0]?.commands } }
    }

    /// The subscription client of `node`, else of the node serving `slot`, with its node.
    func subscriptionClient(node: RedisNode?, slot: Int) -> (RedisNode, RedisClient)? {
        state.withLock { state in
            guard let chosen = node ?? state.node(forSlot: slot), let client = state.nodes[chosen]?.subscriptions else { return nil }
            return (chosen, client)
        }
    }

    /// A `MOVED`: `slot` is `node`'s from now on, and the whole map is read again soon.
    func recordMove(slot: Int, to node: RedisNode) {
        state.withLock { state in
            state.slotMap?.assign(slot: slot, to: node)
            state.version += 1
            state.refreshWanted = true
        }
    }

    /// Asks for the map (or the Sentinels' primary) to be read again soon.
    func wantRefresh() {
        state.withLock { if $0.mode == .cluster || $0.mode == .sentinel { $0.refreshWanted = true } }
    }

    // MARK: Finding out

    private func tick() {
        let (mode, due) = state.withLock { state -> (Mode, Bool) in
            state.ticks += 1
            let periodic = state.ticks % Self.refreshEvery == 0
            let due = (state.refreshWanted || periodic) && !state.asking && .now() - state.lastRefresh >= Self.minRefreshSpacing
            return (state.mode, due)
        }
        switch mode {
        case .detecting: detect()
        case .cluster: if due { refresh() }
        case .sentinel: if due || state.withLock({ $0.primary == nil && !$0.asking }) { askSentinels() }
        case .standalone: break
        }
    }

    /// Asks the seed whether it is a cluster node.
    private func detect() {
        guard let connection = state.withLock({ state -> RedisConnection? in
            guard !state.asking else { return nil }
            let connection = state.nodes[seedNode]?.commands.connection
            if connection != nil { state.asking = true }
            return connection
        }) else { return }
        connection.send(RESPCommand("CLUSTER", ["SLOTS"])).whenComplete { [self] result in
            switch result {
            case .success(let reply):
                if let topology = RedisClusterTopology(clusterSlots: reply, askedHost: seed.host) {
                    apply(topology, first: true)
                } else {
                    logger.warning("unexpected CLUSTER SLOTS reply", metadata: ["reply": "\(reply)"])
                }
            case .failure(RedisError.server(let message)):
                // "cluster support disabled", or a server (or an ACL user) without the command:
                // either way one server, used as given.
                state.withLock {
                    $0.mode = .standalone
                    $0.primary = seedNode
                }
                if message.contains("cluster support disabled") {
                    logger.info("redis is a single server", metadata: ["address": "\(seed)"])
                } else {
                    logger.warning("CLUSTER SLOTS refused; using redis as a single server", metadata: ["address": "\(seed)", "reply": "\(message)"])
                }
            case .failure:
                break  // asked again on the next tick
            }
            state.withLock { $0.asking = false }
        }
    }

    /// Reads the slot map from any connected master.
    private func refresh() {
        guard let (connection, node) = state.withLock({ state -> (RedisConnection, RedisNode)? in
            let candidates = state.nodes.compactMap { node, connections in connections.commands.connection.map { ($0, node) } }
            guard let chosen = candidates.randomElement() else { return nil }
            state.asking = true
            state.refreshWanted = false
            state.lastRefresh = .now()
            return chosen
        }) else { return }
        connection.send(RESPCommand("CLUSTER", ["SLOTS"])).whenComplete { [self] result in
            if case .success(let reply) = result, let topology = RedisClusterTopology(clusterSlots: reply, askedHost: node.host) {
                apply(topology, first: false)
            } else {
                state.withLock { $0.refreshWanted = true }
            }
            state.withLock { $0.asking = false }
        }
    }

    /// Takes a new slot map: connects to new masters, disconnects from nodes that no longer serve a slot.
    private func apply(_ topology: RedisClusterTopology, first: Bool) {
        let serving = Set((0..<RedisHashSlot.count).compactMap { topology.owner(ofSlot: $0) })
        let (changed, retired) = state.withLock { state -> (Bool, [Connections]) in
            guard !state.closed else { return (false, []) }
            let changed = state.slotMap != topology
            state.mode = .cluster
            state.slotMap = topology
            if changed { state.version += 1 }
            var retired: [Connections] = []
            for node in state.nodes.keys where !serving.contains(node) {
                retired.append(state.nodes.removeValue(forKey: node)!)
            }
            return (changed, retired)
        }
        for node in serving { ensureConnections(to: node) }
        close(retired)
        if changed {
            logger.info(first ? "redis is a cluster" : "redis cluster slot map changed", metadata: [
                "masters": "\(serving.map(\.description).sorted().joined(separator: ","))",
            ])
        }
    }

    /// Opens connections to `node` unless there are some.
    func ensureConnections(to node: RedisNode) {
        let needed = state.withLock { !$0.closed && $0.nodes[node] == nil }
        guard needed else { return }
        let connections = makeConnections(for: node)
        let kept = state.withLock { state -> Bool in
            guard !state.closed, state.nodes[node] == nil else { return false }
            state.nodes[node] = connections
            return true
        }
        if !kept { close([connections]) }
    }

    /// Closes connections no longer used (without waiting for their sockets to close).
    private func close(_ retired: [Connections]) {
        for connections in retired {
            connections.commands.closeSoon()
            connections.subscriptions?.closeSoon()
        }
    }

    /// A node's (not yet started) clients are started here too: a client is of no use unstarted.
    private func makeConnections(for node: RedisNode) -> Connections {
        var address = seed
        address.host = node.host
        address.port = node.port
        address.sentinel = nil
        let commands = RedisClient(address: address, eventLoop: eventLoop, commandTimeout: commandTimeout, logger: logger, onConnect: onConnect)
        var subscriptions: RedisClient?
        if let subscriber {
            subscriptions = RedisClient(
                address: address, eventLoop: eventLoop, commandTimeout: commandTimeout, logger: logger,
                onMessage: subscriber.onMessage, onUnsubscribed: subscriber.onUnsubscribed,
                onConnect: { connection in subscriber.onConnect(connection, node) })
        }
        commands.start()
        subscriptions?.start()
        return Connections(commands: commands, subscriptions: subscriptions)
    }

    /// `redis-sentinel://`: asks a connected Sentinel which server is the primary.
    private func askSentinels() {
        guard let (sentinel, name) = state.withLock({ state -> (RedisClient, String)? in
            let connected = state.sentinels.filter(\.isConnected)
            guard let chosen = connected.randomElement(), let name = seed.sentinel?.masterName else { return nil }
            state.asking = true
            state.refreshWanted = false
            state.lastRefresh = .now()
            return (chosen, name)
        }) else { return }
        sentinel.send(RESPCommand("SENTINEL", ["GET-MASTER-ADDR-BY-NAME", RESPArgument(name)])).whenComplete { [self] result in
            if case .success(let reply) = result, let parts = reply.array, parts.count == 2, let host = parts[0].string,
               let port = parts[1].integer, (1...65535).contains(port) {
                adopt(primary: RedisNode(host: host, port: Int(clamping: port)), from: sentinel.address)
            } else {
                if case .success(let reply) = result {
                    logger.warning("the sentinel does not know the primary", metadata: ["sentinel": "\(sentinel.address)", "name": "\(name)", "reply": "\(reply)"])
                }
                state.withLock { $0.refreshWanted = true }
            }
            state.withLock { $0.asking = false }
        }
    }

    /// Sends commands and subscriptions to `node` from now on; connections to a previous primary
    /// are closed (subscribers see the change in `topologyVersion` and subscribe again).
    private func adopt(primary node: RedisNode, from sentinel: RedisAddress) {
        let retired = state.withLock { state -> [Connections]? in
            guard !state.closed, state.primary != node else { return nil }
            state.primary = node
            state.version += 1
            var retired: [Connections] = []
            for other in state.nodes.keys where other != node { retired.append(state.nodes.removeValue(forKey: other)!) }
            return retired
        }
        guard let retired else { return }
        ensureConnections(to: node)
        close(retired)
        logger.info("redis primary named by sentinel", metadata: ["primary": "\(node)", "sentinel": "\(sentinel)"])
    }
}
