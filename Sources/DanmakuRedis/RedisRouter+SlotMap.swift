// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// Finding out what the seed is, and keeping the slot map (and the connections to its masters)
/// up to date.
extension RedisRouter {
    func tick() {
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
            let changed = state.topology != topology
            state.mode = .cluster
            state.topology = topology
            if changed { state.topologyVersion += 1 }
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
    func close(_ retired: [Connections]) {
        for connections in retired {
            connections.commands.closeSoon()
            connections.subscriptions?.closeSoon()
        }
    }

    /// A node's (not yet started) clients are started here too: a client is of no use unstarted.
    func makeConnections(for node: RedisNode) -> Connections {
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
}
