// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// `redis-sentinel://`: the primary is whichever server the Sentinels name. They are asked at
/// start, every 2 s, and soon after an error that may mean a failover (the primary lost, or
/// answering `READONLY` because it was turned into a replica).
extension RedisRouter {
    func askSentinels() {
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
            state.topologyVersion += 1
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
