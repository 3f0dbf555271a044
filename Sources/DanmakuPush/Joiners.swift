// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import NIOCore

/// A room's viewers on one loop that wait for their history snapshot (`PushShard.join`).
///
/// Meanwhile they keep whatever the room flushes, and note the retractions it tells; once the
/// snapshot arrives, each is sent what it missed (`catchUp`) before it goes live.
///
/// Viewers that would read the same history (`HistoryRead`: the same `since` and epoch) share
/// one read: a connect storm, or a killed node's viewers coming back at once, asks the history
/// store once per resume point rather than once per viewer, which a remote store could not
/// answer within its timeout. A read serves only viewers that were waiting when it was issued
/// (`startRead`): one that came later may have missed a flush the read does not cover, so it
/// waits for the next read of its kind, issued as the one in flight ends.
///
/// Owned by a `LoopRoom`, touched only on its shard's loop, never locked.
final class Joiners {
    private let room: RoomID
    /// The viewers waiting, by identity (a storm's worth come and go: O(1) to add and remove).
    private var waiting: [ObjectIdentifier: RoomSubscription] = [:]
    /// Viewers waiting for a read of their kind to be issued; some may have left since.
    private var unread: [HistoryRead: [RoomSubscription]] = [:]
    /// The kinds of read on their way.
    private var reading: Set<HistoryRead> = []

    init(room: RoomID) {
        self.room = room
    }

    var count: Int { waiting.count }
    var isEmpty: Bool { waiting.isEmpty }

    func add(_ viewer: RoomSubscription) {
        waiting[ObjectIdentifier(viewer)] = viewer
        unread[viewer.historyRead, default: []].append(viewer)
    }

    /// Takes `viewer` out; false when it was not waiting.
    @discardableResult
    func remove(_ viewer: RoomSubscription) -> Bool {
        waiting.removeValue(forKey: ObjectIdentifier(viewer)) != nil
    }

    /// The viewers a read of `kind` issued now serves, and that read marked as on its way; nil
    /// when one of that kind is already on its way (they wait for it to end) or none waits.
    func startRead(_ kind: HistoryRead) -> [RoomSubscription]? {
        guard !reading.contains(kind), let group = unread.removeValue(forKey: kind) else { return nil }
        let stillWaiting = group.filter { waiting[ObjectIdentifier($0)] != nil }
        guard !stillWaiting.isEmpty else { return nil }
        reading.insert(kind)
        return stillWaiting
    }

    /// `viewers`, served by a read of `kind` that failed, wait for the next read of that kind
    /// ahead of those that came meanwhile.
    func waitAgain(_ viewers: [RoomSubscription], for kind: HistoryRead) {
        unread[kind] = viewers + (unread[kind] ?? [])
    }

    /// The read of `kind` ended (answered or failed): the next of that kind may be issued.
    func endRead(_ kind: HistoryRead) {
        reading.remove(kind)
    }

    /// Each keeps the whole batch (their history catch-up is not budgeted).
    func buffer(_ pending: [EncodedComment]) {
        for subscription in waiting.values where !subscription.bufferWhileJoining(pending) {
            // A snapshot this late means the history store is in trouble; let the viewer resume.
            subscription.viewer.close(code: .unexpectedServerError, reason: "history too slow")
        }
    }

    /// A comment was taken back: each is told once its history is sent (the history, or what was
    /// flushed to it meanwhile, may hold the comment): told now, it would get the comment after.
    func noteRetraction(_ retracted: RetractedComment) {
        for subscription in waiting.values { subscription.noteRetractionWhileJoining(retracted) }
    }

    /// Sends `frame` to every viewer waiting.
    func send(_ frame: ByteBuffer) {
        for subscription in waiting.values { subscription.viewer.send(frame) }
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

/// What a joining viewer's history read asks for: the viewers of a room on one loop that ask
/// the same share one read (`Joiners.startRead`).
struct HistoryRead: Hashable {
    /// The viewer's resume point (nil: a first join, which needs only where the room stands).
    var since: UInt64?
    /// The epoch `since` belongs to, as the viewer said.
    var epoch: Int64?
}
