// Danmaku — a live-stream bullet-comment service.

import DanmakuRedis
import NIOCore
import Synchronization

/// Scripts loaded with `SCRIPT LOAD` on each connection and run with `EVALSHA`; `EVAL` when the
/// server does not know the script (e.g. after `SCRIPT FLUSH`).
final class RedisScriptCache: Sendable {
    private let shas = Mutex<[String: String]>([:])

    func load(on connection: RedisConnection) -> EventLoopFuture<Void> {
        let scripts = [
            RedisScripts.append, RedisScripts.snapshot, RedisScripts.admit, RedisScripts.admitAndAppend, RedisScripts.retract, RedisScripts.withdraw, RedisScripts.recordLost, RedisScripts.like,
            RedisScripts.addVideoComments, RedisScripts.videoSegment, RedisScripts.videoComment, RedisScripts.likeVideoComment,
            RedisScripts.removeVideoComment, RedisScripts.fileReport, RedisScripts.hideReported, RedisScripts.resolveReported, RedisScripts.forgetLostReported,
        ]
        let loads = scripts.map { script in
            connection.send(RESPCommand("SCRIPT", ["LOAD", RESPArgument(script)])).map { [self] reply in
                if let sha = reply.string { shas.withLock { $0[script] = sha } }
            }
        }
        return EventLoopFuture.andAllSucceed(loads, on: connection.eventLoop)
    }

    /// Runs `script` on the node serving its first key; `followedBy` go right behind it on the
    /// same connection. One outcome per command.
    func run(
        _ script: String, keys: [String], arguments: [RESPArgument], on redis: RedisRouter, followedBy: [RESPCommand]
    ) -> EventLoopFuture<[Result<RESPValue, any Error>]> {
        let tail = [RESPArgument(keys.count)] + keys.map { RESPArgument($0) } + arguments
        let eval = [RESPCommand("EVAL", [RESPArgument(script)] + tail)] + followedBy
        guard let sha = shas.withLock({ $0[script] }) else { return redis.send(eval, key: keys.first) }
        return redis.send([RESPCommand("EVALSHA", [RESPArgument(sha)] + tail)] + followedBy, key: keys.first).flatMap { answers in
            guard case .failure(RedisError.server(let message)) = answers[0], message.hasPrefix("NOSCRIPT") else {
                return redis.eventLoop.makeSucceededFuture(answers)
            }
            return redis.send(eval, key: keys.first)
        }
    }

    /// Runs `script` on the node serving its first key.
    func run(_ script: String, keys: [String], arguments: [RESPArgument], on redis: RedisRouter) -> EventLoopFuture<RESPValue> {
        run(script, keys: keys, arguments: arguments, on: redis, followedBy: []).flatMapThrowing { try $0[0].get() }
    }
}
