// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Logging
import Synchronization

/// Comments fewer replicas confirmed than `--bus-min-replicas` asks for, taken back out: deleted
/// from the stream, and a retraction sent in case a push node already read one from there. Each
/// is tried once before its post is answered; if Redis cannot be reached then (a failover, the
/// likely reason the replicas did not confirm), `run()` tries again, 250 ms apart for 30 s: a bus
/// that may withdraw (`minReplicas > 0`) must be run (the server's `RedisPart` does).
///
/// After a failover the new master may not have the comment, and may have numbered another with
/// its seq: that one was confirmed and stays (see `RedisScripts.withdraw`).
final class Withdrawals: Sendable {
    /// Tries once to take a comment back; whether it is done.
    typealias Attempt = @Sendable (EncodedComment) async -> Bool

    private struct State {
        /// Rooms with a withdrawal still to be done, and how many.
        var unfinished: [RoomID: Int] = [:]
        /// Withdrawals `run()` has not taken yet (kept here, not in the stream: a stream drops
        /// what it buffered when its reader is cancelled, and a room would stay blocked).
        var queued: [EncodedComment] = []
        /// `run()` has ended: later withdrawals are tried once.
        var stopped = false
    }

    private let state = Mutex(State())
    /// Wakes `run()` when a withdrawal is queued.
    private let wakeUps = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
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
        state.withLock { $0.unfinished[room] != nil }
    }

    /// Takes `comment` back now, or leaves it to `run()`.
    func withdraw(_ comment: EncodedComment, attempt: Attempt) async {
        if await attempt(comment) { return }
        let queued = state.withLock { state -> Bool in
            // Stopped (shutting down): nothing would retry it.
            guard !state.stopped else { return false }
            state.unfinished[comment.room, default: 0] += 1
            state.queued.append(comment)
            return true
        }
        if queued { wakeUps.continuation.yield() } else { report(comment) }
    }

    /// Retries what could not be done at once, until `stop()`; returns once every retry has
    /// ended (a retry cut short by `stop()` or cancellation makes one last attempt).
    func run(attempt: @escaping Attempt) async {
        await withDiscardingTaskGroup { group in
            // What was queued before `run()` began is taken at the first wake-up.
            wakeUps.continuation.yield()
            for await _ in wakeUps.stream {
                let taken = state.withLock { state -> [EncodedComment] in
                    defer { state.queued = [] }
                    return state.queued
                }
                for comment in taken {
                    group.addTask { await self.retry(comment, attempt: attempt) }
                }
            }
            group.cancelAll()
        }
        // Anything queued after the last wake-up, or while cancelled: given up, not left blocking.
        let left = state.withLock { state -> [EncodedComment] in
            state.stopped = true
            defer { state.queued = [] }
            return state.queued
        }
        for comment in left { finished(comment, withdrawn: false) }
    }

    /// Ends `run()`; withdrawals from now on are tried once.
    func stop() {
        wakeUps.continuation.finish()
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
        state.withLock { state in
            state.unfinished[comment.room, default: 1] -= 1
            if state.unfinished[comment.room] == 0 { state.unfinished[comment.room] = nil }
        }
        if !withdrawn { report(comment) }
    }

    private func report(_ comment: EncodedComment) {
        logger.error("could not withdraw an unconfirmed comment; it may be shown", metadata: [
            "room": "\(comment.room)", "seq": "\(comment.seq)",
        ])
    }
}
