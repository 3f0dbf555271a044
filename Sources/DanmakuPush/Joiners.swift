// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import NIOCore

/// A room's viewers on one loop that wait for their history snapshot (`PushShard.join`).
///
/// Meanwhile they keep whatever the room flushes, and note the retractions it tells; once the
/// snapshot arrives, each is sent what it missed (`catchUp`) before it goes live.
///
/// Owned by a `LoopRoom`, touched only on its shard's loop, never locked.
final class Joiners {
    private let room: RoomID
    /// The viewers waiting, in the order they came.
    private var waiting: [RoomSubscription] = []

    init(room: RoomID) {
        self.room = room
    }

    var count: Int { waiting.count }
    var isEmpty: Bool { waiting.isEmpty }

    func add(_ viewer: RoomSubscription) {
        waiting.append(viewer)
    }

    /// Takes `viewer` out; false when it was not waiting.
    @discardableResult
    func remove(_ viewer: RoomSubscription) -> Bool {
        guard let index = waiting.firstIndex(where: { $0 === viewer }) else { return false }
        waiting.remove(at: index)
        return true
    }

    /// Each keeps the whole batch (their history catch-up is not budgeted).
    func buffer(_ pending: [EncodedComment]) {
        for subscription in waiting where !subscription.bufferWhileJoining(pending) {
            // A snapshot this late means the history store is in trouble; let the viewer resume.
            subscription.viewer.close(code: .unexpectedServerError, reason: "history too slow")
        }
    }

    /// A comment was taken back: each is told once its history is sent (the history, or what was
    /// flushed to it meanwhile, may hold the comment): told now, it would get the comment after.
    func noteRetraction(_ retracted: RetractedComment) {
        for subscription in waiting { subscription.noteRetractionWhileJoining(retracted) }
    }

    /// Sends `frame` to every viewer waiting.
    func send(_ frame: ByteBuffer) {
        for subscription in waiting { subscription.viewer.send(frame) }
    }

    /// Sends `viewer`, whose `snapshot` arrived (read after `since`), its `hello`, the history it
    /// missed, the retractions of comments it may show, and what was flushed while the snapshot
    /// was on its way; the viewer stops waiting (`becomeLive`).
    func catchUp(
        _ viewer: RoomSubscription, snapshot: HistorySnapshot, since: UInt64?, window: TimeAmount, delay: TimeAmount, online: Int,
        displayPerSecond: Int?, allocator: ByteBufferAllocator
    ) {
        // Taken first: `becomeLive` ends the joining phase, and with it the buffer.
        let retractedMeanwhile = viewer.retractedWhileJoining
        let flushedMeanwhile = Self.leavingOut(retractedMeanwhile, from: viewer.becomeLive())
        let history = Self.leavingOut(retractedMeanwhile, from: snapshot.comments)
        let connection = viewer.viewer
        connection.sendHello(
            room: room, lastSeq: snapshot.lastSeq, epoch: snapshot.epoch, window: window, delay: delay, online: online,
            displayPerSecond: displayPerSecond)
        if let since, since < snapshot.lastSeq {
            if since + 1 < snapshot.firstAvailableSeq {
                connection.sendGap(room: room, from: since + 1, to: snapshot.firstAvailableSeq - 1)
            }
            if let last = history.last {
                connection.send(
                    batch: ViewerMessage.batch(room: room, comments: history, format: connection.format, allocator: allocator),
                    through: last.seq)
            }
        }
        // Comments it may show that were taken back while it was away (their `retract` went out
        // then), or while its history was read (left out above, and maybe shown from before).
        for retracted in (since == nil ? [] : snapshot.retracted) + retractedMeanwhile {
            connection.send(ViewerMessage.frame(ViewerMessage.Retract(room: room.value, seq: retracted.seq, id: retracted.id, reason: retracted.reason)))
        }
        viewer.lastSentSeq = snapshot.lastSeq
        // What was flushed while the snapshot was on its way, past what the snapshot covered.
        let missed = flushedMeanwhile.filter { $0.seq > snapshot.lastSeq }
        if let last = missed.last {
            connection.send(batch: ViewerMessage.batch(room: room, comments: missed, format: connection.format, allocator: allocator), through: last.seq)
            viewer.lastSentSeq = last.seq
        }
    }

    /// `comments` without those `retracted` names (looked up by seq first: the list may be long).
    private static func leavingOut(_ retracted: [RetractedComment], from comments: [EncodedComment]) -> [EncodedComment] {
        guard !retracted.isEmpty else { return comments }
        let seqs = Set(retracted.map(\.seq))
        return comments.filter { !seqs.contains($0.seq) || !$0.isAmong(retracted) }
    }
}
