// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import NIOCore

/// One room watched over one connection: where the viewer stands in that room's sequence.
///
/// A connection watches its URL's room and any it `join`s later, each with its own `seq` and
/// resume point; the room's `LoopRoom` holds these, not the connections, so the fan-out loop
/// and the resume logic work per room whatever else the connection watches.
final class RoomSubscription {
    let room: RoomID
    /// Resume point: the URL's `since`, or the one in the `join` message.
    let since: UInt64?
    /// The epoch `since` belongs to, when the viewer said; another epoch's seqs mean nothing now.
    let epoch: Int64?
    /// The connection. Held strongly: a history read may complete after the viewer left, and
    /// must find a live object to check (the connection drops its subscriptions when it closes,
    /// which ends the cycle).
    let viewer: ViewerHandler
    /// Highest seq this viewer has been sent or told about (with `shed`) in this room.
    var lastSentSeq: UInt64 = 0
    /// When it joined the room on its loop (how long its history reads may keep failing).
    var joinedAt = NIODeadline.uptimeNanoseconds(0)
    /// Position in its `LoopRoom`'s array of live subscriptions.
    var slot: Int?
    /// Comments flushed to the room while this subscription's history snapshot was on its way;
    /// nil once live.
    private(set) var joiningBuffer: [EncodedComment]? = []
    /// Comments taken back while the snapshot was on its way (at most
    /// `RetractedComment.remembered`, the latest): the snapshot, read before, may hold them.
    private(set) var retractedWhileJoining: [RetractedComment] = []

    init(room: RoomID, since: UInt64?, epoch: Int64? = nil, viewer: ViewerHandler) {
        self.room = room
        self.since = since
        self.epoch = epoch
        self.viewer = viewer
    }

    var isJoining: Bool { joiningBuffer != nil }

    /// The history read this viewer joins with; viewers asking the same share one.
    var historyRead: HistoryRead { HistoryRead(since: since, epoch: epoch) }

    /// Keeps comments flushed while the snapshot is read, so none fall between snapshot and live.
    /// False when the buffer grew past reason (the history store is in trouble).
    func bufferWhileJoining(_ comments: [EncodedComment]) -> Bool {
        guard joiningBuffer != nil else { return true }
        joiningBuffer!.append(contentsOf: comments)
        return joiningBuffer!.count <= 100_000
    }

    /// Keeps a retraction that came while the snapshot is read, to be applied to what the
    /// snapshot brings: sent now, it would reach the viewer before the comment it takes back.
    func noteRetractionWhileJoining(_ retracted: RetractedComment) {
        guard joiningBuffer != nil else { return }
        if retractedWhileJoining.count >= RetractedComment.remembered { retractedWhileJoining.removeFirst() }
        retractedWhileJoining.append(retracted)
    }

    /// Whether the viewer left the room (or its connection closed): nothing may add it back.
    private(set) var hasLeft = false

    /// The viewer left the room: a history read still on its way must not activate it, and a
    /// catch-up that closed it (a write past its bound closes at once) must not make it live.
    func leave() {
        joiningBuffer = nil
        hasLeft = true
    }

    /// Ends the joining phase; returns what was flushed to the room meanwhile.
    func becomeLive() -> [EncodedComment] {
        defer { joiningBuffer = nil }
        return joiningBuffer ?? []
    }
}
