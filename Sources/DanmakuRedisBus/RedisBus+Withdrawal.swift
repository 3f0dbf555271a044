// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuRedis

/// Withdrawal of comments fewer replicas confirmed than `--bus-min-replicas` asks for.
extension RedisBus {
    /// Takes an unconfirmed comment back out: deleted from the stream, and a retraction sent in
    /// case a push node already read it from there. Its seq stays unused. Tried once before the
    /// post is answered; if Redis cannot be reached (a failover, the likely reason the replicas did
    /// not confirm), tried again in the background for a while.
    ///
    /// After a failover the new master may not have the comment, and may have numbered another
    /// with its seq: that one was confirmed and stays (see `RedisScripts.withdraw`).
    func withdraw(_ comment: EncodedComment) async {
        if await tryToWithdraw(comment) { return }
        unfinishedWithdrawals.withLock { $0[comment.room, default: 0] += 1 }
        Task {
            defer {
                unfinishedWithdrawals.withLock { pending in
                    pending[comment.room]! -= 1
                    if pending[comment.room] == 0 { pending[comment.room] = nil }
                }
            }
            for _ in 0..<Self.withdrawalRetries {
                try? await Task.sleep(for: .milliseconds(250))
                if await tryToWithdraw(comment) { return }
            }
            logger.error("could not withdraw an unconfirmed comment; it may be shown", metadata: [
                "room": "\(comment.room)", "seq": "\(comment.seq)",
            ])
        }
    }

    /// Retries of a withdrawal, 250 ms apart.
    static let withdrawalRetries = 120

    private func tryToWithdraw(_ comment: EncodedComment) async -> Bool {
        let keys = RedisKeys(comment.room)
        guard let id = try? comment.decoded().id else { return true }
        do {
            let reply = try await scripts.run(
                RedisScripts.withdraw, keys: [keys.seq, keys.log],
                arguments: [RESPArgument(String(comment.seq)), RESPArgument(EncodedComment.idMarker(id))], on: redis
            ).get()
            try await publishRetraction(Retraction(seq: comment.seq, id: id, reused: reply.integer == 0 ? true : nil), room: comment.room)
            return true
        } catch {
            return false
        }
    }
}
