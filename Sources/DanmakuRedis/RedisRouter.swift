// Danmaku — a live-stream bullet-comment service.

import Logging
import NIOCore
import Synchronization

/// Commands and shard subscriptions for one Redis server or a whole Redis Cluster, behind one
/// address.
///
/// What the address is, and the connections that follow from it, is `RedisTopology`'s job: one
/// server used as given, a cluster's masters (one pipelined command connection, and for a
/// subscriber one subscription connection, per master), or the primary the Sentinels name. The
/// router sends each command to the node serving its key's slot, follows `MOVED` (recording the
/// slot's new master, and the map is read again) and `ASK` (`ASKING` first, on the same
/// connection), retries `TRYAGAIN` a few times, and tells the topology about any error that may
/// mean the cluster changed (a lost master, `CLUSTERDOWN`, `READONLY`).
public final class RedisRouter: Sendable {
    /// The address given: credentials, TLS and database for every node.
    public let seed: RedisAddress
    public let eventLoop: any EventLoop
    /// Where commands go.
    let topology: RedisTopology

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

    /// At most this many redirections (`MOVED`, `ASK`) for one command.
    static let maxRedirections = 5
    /// `TRYAGAIN` (a multi-key command while its slot's keys move) is retried this often, this
    /// far apart: a slot's keys move in one `MIGRATE` batch, which takes milliseconds.
    static let maxTryAgain = 40
    static let tryAgainDelay = TimeAmount.milliseconds(25)

    /// - Parameters:
    ///   - onConnect: runs on each new command connection before it takes commands (loading scripts).
    ///   - subscriber: given, the router keeps a subscription connection per node too.
    public init(
        seed: RedisAddress, eventLoop: any EventLoop, commandTimeout: TimeAmount, logger: Logger,
        onConnect: (@Sendable (RedisConnection) -> EventLoopFuture<Void>)? = nil, subscriber: Subscriber? = nil
    ) {
        self.seed = seed
        self.eventLoop = eventLoop
        self.topology = RedisTopology(
            seed: seed, eventLoop: eventLoop, commandTimeout: commandTimeout, logger: logger, onConnect: onConnect, subscriber: subscriber)
    }

    /// Connects to the seed and starts finding out what it is (or asks the Sentinels for the primary).
    public func start() {
        topology.start()
    }

    /// Closes every connection.
    public func close() async {
        await topology.close()
    }

    /// Standalone, cluster, or not known yet.
    public var mode: Mode { topology.mode }

    /// Changes whenever the slot map does.
    public var topologyVersion: Int { topology.version }

    /// Whether the mode is known and every connection is up.
    public var isConnected: Bool { topology.isConnected }

    /// Whether some of Redis can be used: the mode is known and a command connection is up. On a
    /// cluster with a master down (until its replica takes over), rooms on the other masters still
    /// work: a node stays ready for them.
    public var isReachable: Bool { topology.isReachable }

    /// The masters connected to (the seed alone when standalone).
    public var nodes: [RedisNode] { topology.nodes }

    /// Waits until connected; throws a refusal at once, and `unavailable` after `timeout`.
    public func waitForConnection(timeout: Duration = .seconds(5)) async throws {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while !isConnected {
            if let refusal = topology.refusal { throw refusal }
            guard clock.now < end else { throw RedisError.unavailable(topology.whyNotConnected) }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The node that serves `key` now (the seed when standalone), nil while it is not known.
    public func owner(ofKey key: String) -> RedisNode? {
        topology.node(forSlot: RedisHashSlot.of(key))
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
        guard let (node, client) = topology.subscriptionClient(node: chosen, slot: RedisHashSlot.of(channel)) else {
            topology.wantRefresh()
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
        topology.wantRefresh()
    }

    // MARK: Redirections

    /// Sends `commands` on one connection to `redirected`, else to the node serving `slot`
    /// (`ASKING` first after an `ASK`); follows a redirection of the first command, and retries a
    /// `TRYAGAIN` from the start after a pause.
    private func dispatch(
        _ commands: [RESPCommand], slot: Int?, to redirected: RedisNode?, asking: Bool, redirections: Int, retries: Int
    ) -> EventLoopFuture<[Result<RESPValue, any Error>]> {
        let client = topology.commandClient(node: redirected, slot: slot)
        guard let client, let connection = client.connection else {
            topology.wantRefresh()
            let why = client == nil ? "no node known for this key yet" : "\(client!.address) is not connected"
            return eventLoop.makeFailedFuture(RedisError.unavailable(why))
        }
        let sent = (asking ? [RESPCommand("ASKING")] : []) + commands
        let outcomes: EventLoopFuture<[Result<RESPValue, any Error>]>
        if sent.count == 1 {
            // Most calls are one command (a post's script): no gathering of futures.
            outcomes = connection.send(sent[0]).map { [.success($0)] }.recover { [.failure($0)] }
        } else {
            let answers = sent.map { connection.send($0) }.map { answer in
                answer.map { Result<RESPValue, any Error>.success($0) }.recover { .failure($0) }
            }
            outcomes = EventLoopFuture.whenAllSucceed(answers, on: connection.eventLoop)
        }
        return outcomes.flatMap { [self] outcomes in
            let results = Array(outcomes.dropFirst(asking ? 1 : 0))
            if case .failure(let error) = results[0], let next = redirection(for: error) {
                switch next {
                case .moved(let node) where redirections < Self.maxRedirections:
                    // Two masters may point at each other for a moment while a slot's new owner
                    // is announced: a second redirection waits a little first.
                    let pause = redirections == 0 ? TimeAmount.zero : Self.tryAgainDelay
                    return eventLoop.scheduleTask(in: pause) {}.futureResult.flatMap {
                        self.dispatch(commands, slot: slot, to: node, asking: false, redirections: redirections + 1, retries: retries)
                    }
                case .ask(let node) where redirections < Self.maxRedirections:
                    return dispatch(commands, slot: slot, to: node, asking: true, redirections: redirections + 1, retries: retries)
                case .tryAgain where retries < Self.maxTryAgain:
                    // From the start: by now the slot may have finished moving.
                    return eventLoop.scheduleTask(in: Self.tryAgainDelay) {}.futureResult.flatMap {
                        self.dispatch(commands, slot: slot, to: nil, asking: false, redirections: 0, retries: retries + 1)
                    }
                default:
                    break
                }
            }
            if case .failure(let error) = results[0] { noteFailure(error) }
            return eventLoop.makeSucceededFuture(results)
        }
    }

    enum Redirection {
        case moved(RedisNode), ask(RedisNode), tryAgain
    }

    /// What to do after `error`: follow a `MOVED` (and remember it) or an `ASK`, wait out a `TRYAGAIN`.
    private func redirection(for error: any Error) -> Redirection? {
        guard case RedisError.server(let message) = error else { return nil }
        let words = message.split(separator: " ")
        if words.first == "TRYAGAIN" { return .tryAgain }
        guard words.count == 3, words[0] == "MOVED" || words[0] == "ASK", let movedSlot = Int(words[1]),
              (0..<RedisHashSlot.count).contains(movedSlot), let node = RedisNode(redirection: words[2]) else { return nil }
        topology.ensureConnections(to: node)
        guard words[0] == "MOVED" else { return .ask(node) }
        topology.recordMove(slot: movedSlot, to: node)
        return .moved(node)
    }

    /// After a failure that may mean the cluster changed, reads the map again soon.
    private func noteFailure(_ error: any Error) {
        switch error {
        case RedisError.unavailable, RedisError.connectionClosed, RedisError.timeout: topology.wantRefresh()
        // READONLY: the server given as primary is a replica now (a Sentinel failover).
        case RedisError.server(let message) where ["CLUSTERDOWN", "MOVED", "READONLY"].contains(where: message.hasPrefix): topology.wantRefresh()
        default: break
        }
    }
}
