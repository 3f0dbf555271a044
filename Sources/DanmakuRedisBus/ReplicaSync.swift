// Danmaku — a live-stream bullet-comment service.

import DanmakuRedis
import NIOCore
import Synchronization

/// What one master's `INFO replication` says about its replicas.
public struct ReplicationReport: Equatable, Sendable {
    /// `master` or `slave`.
    public var role: String
    /// Replicas that finished their first sync (`state=online`) and acknowledged recently: the
    /// ones a `WAIT` can count.
    public var replicasInSync: Int

    /// A replica acknowledges every second; one silent for longer than this is not counted, as a
    /// `WAIT` within `--bus-replica-timeout-ms` would likely not hear from it either.
    public static let maxLagSeconds = 2

    /// Parses the text of `INFO replication`; nil when it has no `role` line.
    public init?(info: String) {
        var role: String?
        var inSync = 0
        for line in info.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("role:") {
                role = String(line.dropFirst(5))
                continue
            }
            // slave0:ip=127.0.0.1,port=7481,state=online,offset=1234,lag=0
            guard line.hasPrefix("slave"), let colon = line.firstIndex(of: ":"),
                  line[line.index(line.startIndex, offsetBy: 5)..<colon].allSatisfy(\.isNumber) else { continue }
            var fields: [Substring: Substring] = [:]
            for pair in line[line.index(after: colon)...].split(separator: ",") {
                guard let equals = pair.firstIndex(of: "=") else { continue }
                fields[pair[..<equals]] = pair[pair.index(after: equals)...]
            }
            let lag = fields["lag"].flatMap { Int($0) } ?? Int.max
            if fields["state"] == "online", (0...Self.maxLagSeconds).contains(lag) { inSync += 1 }
        }
        guard let role else { return nil }
        self.role = role
        self.replicasInSync = inSync
    }

    public init(role: String, replicasInSync: Int) {
        self.role = role
        self.replicasInSync = replicasInSync
    }

    /// Why this master cannot confirm posts with `needed` replicas, or nil when it can.
    public func shortfall(needed: Int, node: String) -> String? {
        guard role == "master" else { return "\(node) is a \(role), not a master" }
        guard replicasInSync >= needed else { return "\(node) has \(replicasInSync) of \(needed) replicas in sync" }
        return nil
    }
}

/// Watches, for `--bus-min-replicas N`, whether every master has N replicas in sync, so that a
/// starting node reports itself unready (`GET /readyz` 503) rather than refusing its first posts
/// with `bus_unavailable` while a new cluster's replicas are still copying.
///
/// Once every master has been seen with enough replicas the node stays ready: a replica lost
/// later makes only the rooms of its master refuse posts (503), as a master down does, and taking
/// every node out of the load balancer for that would refuse the other masters' rooms too.
final class ReplicaSyncWatch: Sendable {
    let needed: Int
    /// Why posts could not be confirmed yet; nil once every master has had enough replicas.
    private let shortfall: Mutex<String?>
    /// Set while a round of `INFO` is out, so a slow master does not pile up rounds.
    private let asking = Mutex(false)

    init(needed: Int) {
        self.needed = needed
        self.shortfall = Mutex(needed > 0 ? "replicas not checked yet" : nil)
    }

    var reason: String? { shortfall.withLock { $0 } }

    /// Asks every master connected to for its replication state, and records the outcome.
    func check(on redis: RedisRouter) {
        guard reason != nil, asking.withLock({ asking in defer { asking = true }; return !asking }) else { return }
        let nodes = redis.nodes.sorted { ($0.host, $0.port) < ($1.host, $1.port) }
        guard !nodes.isEmpty else {
            record("no Redis master connected yet")
            return
        }
        let answers = nodes.map { node in
            redis.send(RESPCommand("INFO", [RESPArgument("replication")]), to: node).map { reply -> String? in
                guard let report = reply.string.flatMap(ReplicationReport.init(info:)) else { return "\(node) gave no replication report" }
                return report.shortfall(needed: self.needed, node: "\(node)")
            }.recover { error in "could not ask \(node) for its replicas: \(error)" }
        }
        EventLoopFuture.whenAllSucceed(answers, on: redis.eventLoop).whenComplete { result in
            switch result {
            case .success(let reasons): self.record(reasons.lazy.compactMap { $0 }.first)
            case .failure(let error): self.record("could not ask for replicas: \(error)")
            }
        }
    }

    private func record(_ reason: String?) {
        shortfall.withLock { if $0 != nil { $0 = reason } }
        asking.withLock { $0 = false }
    }
}
