// Danmaku — a live-stream bullet-comment service.

import DanmakuRedis
import NIOCore

/// How many replicas must have a write before it counts as done (`--bus-min-replicas`), and the
/// `WAIT` that asks them.
///
/// The `WAIT` goes right behind the write, on its connection: it counts the replicas that have
/// everything this connection wrote so far, the write included. A comment and a retraction are
/// confirmed alike: a write only the master had is undone by a failover to a replica without it.
struct ReplicaConfirmation: Sendable {
    /// Replicas that must confirm a write (0: do not wait).
    let needed: Int
    /// How long to wait for them.
    let timeoutMilliseconds: Int

    /// Whether writes wait for replicas at all.
    var isOn: Bool { needed > 0 }

    /// What to send right behind the write: the `WAIT`, given its timeout on top of the command
    /// timeout; nothing when off.
    var commands: [RESPCommand] {
        guard isOn else { return [] }
        var command = RESPCommand("WAIT", [RESPArgument(needed), RESPArgument(timeoutMilliseconds)])
        command.extraTime = .milliseconds(Int64(timeoutMilliseconds))
        return [command]
    }

    /// Why the write is not confirmed, from the answers to the write and its `commands` (the
    /// `WAIT`'s is second; one that failed confirms none): `"N of M replicas confirmed the WHAT in
    /// time"`; nil when enough did, or when off.
    func shortfall(in answers: [Result<RESPValue, any Error>], of what: String) -> String? {
        guard isOn else { return nil }
        let confirmed = (try? answers[1].get())?.integer ?? 0
        guard confirmed < needed else { return nil }
        return "\(confirmed) of \(needed) replicas confirmed the \(what) in time"
    }
}
