// Danmaku — a live-stream bullet-comment service.

import DanmakuRedis
import Logging
import NIOCore
import Synchronization

/// Watches, for `--bus-min-replicas N`, whether every master has N replicas in sync, so that a
/// starting node reports itself unready (`GET /readyz` 503) rather than refusing its first posts
/// with `bus_unavailable` while a new cluster's replicas are still copying.
///
/// Each master is asked with `WAIT N 10` on the node's own command connection: the replicas that
/// have everything that connection wrote, counted among those whose first sync is done. It is
/// the command every post with `--bus-min-replicas` already sends, so the node needs no other
/// permission (`INFO` is in the `@dangerous` ACL category a node is denied). A timeout of 10 ms
/// lets a replica a few milliseconds away acknowledge a recent write, and holds the connection
/// no longer than that, only while the node is not yet ready.
///
/// Once every master of a known topology has been seen with enough replicas the node stays ready:
/// a replica lost later makes only the rooms of its master refuse posts (503), as a master down
/// does, and taking every node out of the load balancer for that would refuse the other masters'
/// rooms too.
final class ReplicaSyncWatch: Sendable {
    let needed: Int
    private struct State {
        /// Why posts could not be confirmed yet (with the masters' addresses: for the log, not
        /// for clients); nil once every master has had enough replicas.
        var shortfall: String?
        /// Set while a round of `WAIT` is out, so a slow master does not pile up rounds.
        var asking = false
    }

    private let state: Mutex<State>
    private let logger: Logger

    init(needed: Int, logger: Logger) {
        self.needed = needed
        self.logger = logger
        self.state = Mutex(State(shortfall: needed > 0 ? "replicas not checked yet" : nil))
    }

    /// The reason, in detail; nil once satisfied.
    var reason: String? { state.withLock { $0.shortfall } }

    /// Asks every master for its replicas in sync, and records the outcome.
    func check(on redis: RedisRouter) {
        let starts = state.withLock { state -> Bool in
            guard state.shortfall != nil, !state.asking else { return false }
            state.asking = true
            return true
        }
        guard starts else { return }
        // Until the router knows the topology and has a connection to each master, the masters
        // it lists may be the seed alone: a cluster's other masters would go unasked.
        guard redis.mode != .detecting, redis.isConnected else {
            record("the Redis topology is not known yet")
            return
        }
        let nodes = redis.nodes.sorted { ($0.host, $0.port) < ($1.host, $1.port) }
        let answers = nodes.map { node in
            redis.send(RESPCommand("WAIT", [RESPArgument(needed), RESPArgument(10)]), to: node).map { reply -> String? in
                Self.shortfall(confirmed: reply.integer, needed: self.needed, node: "\(node)")
            }.recover { error in "could not ask \(node) for its replicas: \(error)" }
        }
        EventLoopFuture.whenAllSucceed(answers, on: redis.eventLoop).whenComplete { result in
            switch result {
            case .success(let reasons): self.record(reasons.lazy.compactMap { $0 }.first)
            case .failure(let error): self.record("could not ask for replicas: \(error)")
            }
        }
    }

    /// Why a master that answered `WAIT` with `confirmed` cannot confirm posts, or nil when it can.
    static func shortfall(confirmed: Int64?, needed: Int, node: String) -> String? {
        guard let confirmed else { return "\(node) gave no replica count" }
        return confirmed >= needed ? nil : "\(node) has \(max(0, confirmed)) of \(needed) replicas in sync"
    }

    private func record(_ reason: String?) {
        let changed = state.withLock { state -> Bool in
            state.asking = false
            guard state.shortfall != nil, state.shortfall != reason else { return false }
            state.shortfall = reason
            return true
        }
        if changed {
            if let reason {
                logger.notice("not ready: waiting for Redis replicas", metadata: ["reason": "\(reason)"])
            } else {
                logger.notice("every Redis master has its replicas in sync: ready")
            }
        }
    }
}
