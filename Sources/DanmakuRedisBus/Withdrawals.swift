// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Logging
import Synchronization

/// Comments fewer replicas confirmed than `--bus-min-replicas` asks for, taken back out: deleted
/// from the stream, and a retraction sent in case a push node already read one from there. Each
/// is tried once before its post is answered; if Redis cannot be reached then (a failover, the
/// likely reason the replicas did not confirm), `run()` tries again, 250 ms apart for 30 s.
///
/// After a failover the new master may not have the comment, and may have numbered another with
/// its seq: that one was confirmed and stays (see `RedisScripts.withdraw`).
final class Withdrawals: Sendable {
    /// Tries once to take a comment back; whether it is done.
    typealias Attempt = @Sendable (EncodedComment) async -> Bool

    /// Rooms with a withdrawal still to be done, and how many.
    private let unfinished = Mutex<[RoomID: Int]>([:])
    private let retries = AsyncStream.makeStream(of: EncodedComment.self)
    private let logger: Logger

    /// Retries of one withdrawal, `retryDelay` apart.
    static let retryCount = 120
    static let retryDelay = Duration.milliseconds(250)

    init(logger: Logger) {
        self.logger = logger
    }

    /// Whether a comment of `room` is still to be withdrawn: until it is, the room takes no new
    /// comment (a master promoted in a failover may be behind on the room's counter, and a new
    /// comment could take the withdrawn one's seq).
    func arePending(in room: RoomID) -> Bool {
        unfinished.withLock { $0[room] != nil }
    }

    /// Takes `comment` back now, or leaves it to `run()`.
    func withdraw(_ comment: EncodedComment, attempt: Attempt) async {
        if await attempt(comment) { return }
        unfinished.withLock { $0[comment.room, default: 0] += 1 }
        if case .terminated = retries.continuation.yield(comment) {
            // Shutting down: nothing will retry it.
            finished(comment, withdrawn: false)
        }
    }

    /// Retries what could not be done at once, until `stop()`; returns once every retry has
    /// ended (a retry cut short by `stop()` or cancellation makes one last attempt).
    func run(attempt: @escaping Attempt) async {
        await withDiscardingTaskGroup { group in
            for await comment in retries.stream {
                group.addTask { await self.retry(comment, attempt: attempt) }
            }
            group.cancelAll()
        }
    }

    /// Ends `run()`; withdrawals from now on are tried once.
    func stop() {
        retries.continuation.finish()
    }

    private func retry(_ comment: EncodedComment, attempt: Attempt) async {
        for _ in 0..<Self.retryCount {
            let stopping = (try? await Task.sleep(for: Self.retryDelay)) == nil
            if await attempt(comment) { return finished(comment, withdrawn: true) }
            if stopping { break }
        }
        finished(comment, withdrawn: false)
    }

    private func finished(_ comment: EncodedComment, withdrawn: Bool) {
        unfinished.withLock { pending in
            pending[comment.room, default: 1] -= 1
            if pending[comment.room] == 0 { pending[comment.room] = nil }
        }
        if !withdrawn {
            logger.error("could not withdraw an unconfirmed comment; it may be shown", metadata: [
                "room": "\(comment.room)", "seq": "\(comment.seq)",
            ])
        }
    }
}
