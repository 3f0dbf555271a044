// Danmaku — a live-stream bullet-comment service.

import Logging
import NIOCore
import Synchronization

/// Commands and shard subscriptions for one Redis server or a whole Redis Cluster, behind one
/// address.
///
/// At start it asks the server given (the seed) for `CLUSTER SLOTS`. A server without cluster
/// support is used alone, as given. A cluster node hands over the slot map: the router then keeps
/// one pipelined command connection (and, for a subscriber, one subscription connection) per
/// master, sends each command to the master serving its key's slot, follows `MOVED` (recording
/// the slot's new master and reading the map again) and `ASK` (`ASKING` first, on the same
/// connection), retries `TRYAGAIN` a few times, and reads the map again every two seconds and
/// soon after any error that may mean the cluster changed (a lost master, `CLUSTERDOWN`). Masters
/// that leave the map are disconnected; new ones are connected.
public final class RedisRouter: Sendable {
    /// The address given: credentials, TLS and database for every node.
    public let seed: RedisAddress
    public let eventLoop: any EventLoop
    let commandTimeout: TimeAmount
    let logger: Logger
    let onConnect: (@Sendable (RedisConnection) -> EventLoopFuture<Void>)?
    let subscriber: Subscriber?

    /// What a subscribing router does with messages and connections.
    public struct Subscriber: Sendable {
        /// A message on a shard channel: channel, payload.
        public var onMessage: @Sendable (ByteBuffer, ByteBuffer) -> Void
        /// The server unsubscribed a channel by itself (its slot moved away).
        public var onUnsubscribed: @Sendable (ByteBuffer) -> Void
        /// A new subscription connection to `node`, before it is used (to subscribe again).
        public var onConnect: @Sendable (RedisConnection, RedisNode) -> EventLoopFuture<Void>

        public init(
            onMessage: @escaping @Sendable (ByteBuffer, ByteBuffer) -> Void,
            onUnsubscribed: @escaping @Sendable (ByteBuffer) -> Void,
            onConnect: @escaping @Sendable (RedisConnection, RedisNode) -> EventLoopFuture<Void>
        ) {
            self.onMessage = onMessage
            self.onUnsubscribed = onUnsubscribed
            self.onConnect = onConnect
        }
    }

    /// Whether the seed is one server or a cluster node, or the primary comes from Sentinels.
    public enum Mode: Sendable, Equatable {
        case detecting, standalone, cluster, sentinel
    }

    struct Connections {
        var commands: RedisClient
        var subscriptions: RedisClient?
    }

    struct State {
        var mode = Mode.detecting
        /// The one server commands go to, standalone or named by the Sentinels.
        var primary: RedisNode?
        var topology: RedisClusterTopology?
        /// Bumped whenever the slot map changes, so that subscribers re-check their channels.
        var topologyVersion = 0
        var nodes: [RedisNode: Connections] = [:]
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
            case .cluster: slot.flatMap { topology?.owner(ofSlot: $0) } ?? (slot == nil ? nodes.keys.first : nil)
            }
        }
    }

    let state = Mutex(State())
    var seedNode: RedisNode { RedisNode(host: seed.host, port: seed.port) }

    /// At most this many redirections (`MOVED`, `ASK`) for one command.
    static let maxRedirections = 5
    /// `TRYAGAIN` (a multi-key command while its slot's keys move) is retried this often, this
    /// far apart: a slot's keys move in one `MIGRATE` batch, which takes milliseconds.
    static let maxTryAgain = 40
    static let tryAgainDelay = TimeAmount.milliseconds(25)
    /// The map is read again this often (ticks of 100 ms) even when nothing went wrong.
    static let refreshEvery = 20
    static let minRefreshSpacing = TimeAmount.milliseconds(100)

    /// - Parameters:
    ///   - onConnect: runs on each new command connection before it takes commands (loading scripts).
    ///   - subscriber: given, the router keeps a subscription connection per node too.
    public init(
        seed: RedisAddress, eventLoop: any EventLoop, commandTimeout: TimeAmount, logger: Logger,
        onConnect: (@Sendable (RedisConnection) -> EventLoopFuture<Void>)? = nil, subscriber: Subscriber? = nil
    ) {
        self.seed = seed
        self.eventLoop = eventLoop
        self.commandTimeout = commandTimeout
        self.logger = logger
        self.onConnect = onConnect
        self.subscriber = subscriber
    }

    /// Connects to the seed and starts finding out what it is (or asks the Sentinels for the primary).
    public func start() {
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
    public func close() async {
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

    /// Standalone, cluster, or not known yet.
    public var mode: Mode { state.withLock { $0.mode } }

    /// Changes whenever the slot map does.
    public var topologyVersion: Int { state.withLock { $0.topologyVersion } }

    /// Whether the mode is known and every connection is up.
    public var isConnected: Bool {
        state.withLock { state in
            state.mode != .detecting && !state.nodes.isEmpty && (state.mode != .sentinel || state.primary != nil)
                && state.nodes.values.allSatisfy { $0.commands.isConnected && ($0.subscriptions?.isConnected ?? true) }
        }
    }

    /// Whether some of Redis can be used: the mode is known and a command connection is up. On a
    /// cluster with a master down (until its replica takes over), rooms on the other masters still
    /// work: a node stays ready for them.
    public var isReachable: Bool {
        state.withLock { state in
            state.mode != .detecting && state.nodes.values.contains { $0.commands.isConnected }
        }
    }

    /// The masters connected to (the seed alone when standalone).
    public var nodes: [RedisNode] { state.withLock { Array($0.nodes.keys) } }

    /// Waits until connected; throws a refusal at once, and `unavailable` after `timeout`.
    public func waitForConnection(timeout: Duration = .seconds(5)) async throws {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while !isConnected {
            let clients = state.withLock { $0.nodes.values.flatMap { [$0.commands] + ($0.subscriptions.map { [$0] } ?? []) } }
            if let refusal = clients.lazy.compactMap(\.refusal).first { throw refusal }
            guard clock.now < end else {
                let mode = self.mode
                let why = switch mode {
                case .detecting: "\(seed) did not say whether it is a cluster node"
                case .sentinel where state.withLock({ $0.primary == nil }): "no Sentinel of \(seed) named the primary"
                default: "not every node of \(seed) is connected"
                }
                throw RedisError.unavailable(why)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The node that serves `key` now (the seed when standalone), nil while it is not known.
    public func owner(ofKey key: String) -> RedisNode? {
        state.withLock { $0.node(forSlot: RedisHashSlot.of(key)) }
    }

    // MARK: Commands

    /// Sends `command` to the node serving `key` (any node for a command without keys).
    public func send(_ command: RESPCommand, key: String?) -> EventLoopFuture<RESPValue> {
        send([command], key: key).flatMapThrowing { try $0[0].get() }
    }

    /// Sends `command` and waits for its answer.
    public func send(_ command: RESPCommand, key: String?) async throws -> RESPValue {
        try await send(command, key: key).get()
    }

    /// Sends `command` to `node` itself (a command about the node, such as `INFO`).
    public func send(_ command: RESPCommand, to node: RedisNode) -> EventLoopFuture<RESPValue> {
        dispatch([command], slot: nil, to: node, asking: false, redirections: 0, retries: 0).flatMapThrowing { try $0[0].get() }
    }

    /// Sends `commands` one after the other on one connection to the node serving `key`, and
    /// gives each one's outcome. A redirection of the first command sends them all again.
    public func send(_ commands: [RESPCommand], key: String?) -> EventLoopFuture<[Result<RESPValue, any Error>]> {
        dispatch(commands, slot: key.map(RedisHashSlot.of), to: nil, asking: false, redirections: 0, retries: 0)
    }

    /// `MGET` of `keys`, split by slot on a cluster (a cluster refuses keys of several slots in one
    /// command); the values in the order of `keys`.
    public func mget(_ keys: [String]) -> EventLoopFuture<[RESPValue]> {
        guard !keys.isEmpty else { return eventLoop.makeSucceededFuture([]) }
        guard mode == .cluster else {
            return send(RESPCommand("MGET", keys.map { RESPArgument($0) }), key: keys[0]).flatMapThrowing { reply in
                guard let values = reply.array, values.count == keys.count else { throw RedisError.unexpectedReply("MGET: \(reply)") }
                return values
            }
        }
        var groups: [Int: [Int]] = [:]
        for (index, key) in keys.enumerated() { groups[RedisHashSlot.of(key), default: []].append(index) }
        let parts = groups.values.map { indices in
            send(RESPCommand("MGET", indices.map { RESPArgument(keys[$0]) }), key: keys[indices[0]]).flatMapThrowing { reply in
                guard let values = reply.array, values.count == indices.count else { throw RedisError.unexpectedReply("MGET: \(reply)") }
                return zip(indices, values).map { ($0, $1) }
            }
        }
        return EventLoopFuture.whenAllSucceed(parts, on: eventLoop).map { parts in
            var values = [RESPValue](repeating: .null, count: keys.count)
            for part in parts { for (index, value) in part { values[index] = value } }
            return values
        }
    }

    /// Sends a subscription command (`SSUBSCRIBE`, `SUNSUBSCRIBE`) for `channel` on the
    /// subscription connection of `node`, or of the node serving the channel; the node it went
    /// to comes with the answer. A `MOVED` is recorded (the next try goes to the new master).
    public func subscription(_ command: RESPCommand, channel: String, on chosen: RedisNode? = nil) -> EventLoopFuture<(RESPValue, RedisNode)> {
        let target = state.withLock { state -> (RedisNode, RedisClient)? in
            let node = chosen ?? state.node(forSlot: RedisHashSlot.of(channel))
            guard let node, let client = state.nodes[node]?.subscriptions else { return nil }
            return (node, client)
        }
        guard let (node, client) = target else {
            wantRefresh()
            return eventLoop.makeFailedFuture(RedisError.unavailable("no node serves \(channel) yet"))
        }
        return client.send(command).map { ($0, node) }.flatMapErrorThrowing { [self] error in
            _ = redirection(for: error)
            noteFailure(error)
            throw error
        }
    }

    /// Asks for the slot map to be read again soon (a subscriber saw a channel leave its node).
    public func wantSlotMap() {
        wantRefresh()
    }

    func wantRefresh() {
        state.withLock { if $0.mode == .cluster || $0.mode == .sentinel { $0.refreshWanted = true } }
    }
}
