// Danmaku — a live-stream bullet-comment service.

import NIOCore

/// Sending a command to the node that serves its slot, and following the cluster's redirections.
extension RedisRouter {
    /// Sends `commands` on one connection to `redirected`, else to the node serving `slot`
    /// (`ASKING` first after an `ASK`); follows a redirection of the first command, and retries a
    /// `TRYAGAIN` from the start after a pause.
    func dispatch(
        _ commands: [RESPCommand], slot: Int?, to redirected: RedisNode?, asking: Bool, redirections: Int, retries: Int
    ) -> EventLoopFuture<[Result<RESPValue, any Error>]> {
        let client = state.withLock { state -> RedisClient? in
            (redirected ?? state.node(forSlot: slot)).flatMap { state.nodes[$0]?.commands }
        }
        guard let client, let connection = client.connection else {
            wantRefresh()
            let why = client == nil ? "no node known for this key yet" : "\(client!.address) is not connected"
            return eventLoop.makeFailedFuture(RedisError.unavailable(why))
        }
        let sent = (asking ? [RESPCommand("ASKING")] : []) + commands
        let answers = sent.map { connection.send($0) }
        let outcomes = answers.map { answer in
            answer.map { Result<RESPValue, any Error>.success($0) }.recover { .failure($0) }
        }
        return EventLoopFuture.whenAllSucceed(outcomes, on: connection.eventLoop).flatMap { [self] outcomes in
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
    func redirection(for error: any Error) -> Redirection? {
        guard case RedisError.server(let message) = error else { return nil }
        let words = message.split(separator: " ")
        if words.first == "TRYAGAIN" { return .tryAgain }
        guard words.count == 3, words[0] == "MOVED" || words[0] == "ASK", let movedSlot = Int(words[1]),
              (0..<RedisHashSlot.count).contains(movedSlot), let node = RedisNode(redirection: words[2]) else { return nil }
        ensureConnections(to: node)
        guard words[0] == "MOVED" else { return .ask(node) }
        state.withLock { state in
            state.topology?.assign(slot: movedSlot, to: node)
            state.topologyVersion += 1
            state.refreshWanted = true
        }
        return .moved(node)
    }

    /// After a failure that may mean the cluster changed, reads the map again soon.
    func noteFailure(_ error: any Error) {
        switch error {
        case RedisError.unavailable, RedisError.connectionClosed, RedisError.timeout: wantRefresh()
        // READONLY: the server given as primary is a replica now (a Sentinel failover).
        case RedisError.server(let message) where ["CLUSTERDOWN", "MOVED", "READONLY"].contains(where: message.hasPrefix): wantRefresh()
        default: break
        }
    }
}
