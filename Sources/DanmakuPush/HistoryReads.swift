// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Logging
import NIOCore

/// The history reads of one loop's joining viewers: each read is shared by the viewers of a room
/// that ask the same (`Joiners.startRead`), activates them with its snapshot, and is tried again
/// after a backoff when it fails (`HistoryRetry`).
///
/// The shard keeps the rooms; a read only finds its room again through `room`, and drops its
/// answer when the room closed meanwhile (its last viewer left). Owned by a `PushShard`, touched
/// only on its loop, never locked.
final class HistoryReads {
    private let eventLoop: any EventLoop
    /// Where history is read from.
    private let log: any CommentLog
    private let logger: Logger
    private let allocator: ByteBufferAllocator
    /// Viewers per room across the deployment: the `online` of a joining viewer's `hello`.
    private let online: OnlineDirectory
    /// Subscribes this loop to the room (idempotent); completes when the subscription is live.
    private let attach: (RoomID) -> EventLoopFuture<Void>
    /// The room's settings as read when it was attached.
    private let policy: (RoomID) -> RoomPolicy
    /// The shard's room of that id, if it still has one.
    private let room: (RoomID) -> LoopRoom?
    /// Gives a room whose viewers went live their next batch (`BatchScheduler.markDirty`).
    private let markDirty: (LoopRoom) -> Void

    init(
        eventLoop: any EventLoop, log: any CommentLog, logger: Logger, allocator: ByteBufferAllocator, online: OnlineDirectory,
        attach: @escaping (RoomID) -> EventLoopFuture<Void>, policy: @escaping (RoomID) -> RoomPolicy,
        room: @escaping (RoomID) -> LoopRoom?, markDirty: @escaping (LoopRoom) -> Void
    ) {
        self.eventLoop = eventLoop
        self.log = log
        self.logger = logger
        self.allocator = allocator
        self.online = online
        self.attach = attach
        self.policy = policy
        self.room = room
        self.markDirty = markDirty
    }

    /// Reads the history the room's joiners of `kind` wait for, once for all of them, and
    /// activates each with it; when a read of that kind is already on its way, the newcomers
    /// wait for it to end and get the next (`Joiners.startRead`).
    func read(_ kind: HistoryRead, for room: LoopRoom, attempt: Int = 1) {
        guard let group = room.joiners.startRead(kind) else { return }
        let roomID = room.id
        let (requestedSince, epoch) = (kind.since, kind.epoch)
        let log = self.log
        // Attaching is idempotent; every read waits until the room's subscription is live, so
        // whatever is published after its snapshot is read is sure to reach this loop.
        attach(roomID).flatMap { [eventLoop] in
            log.snapshot(room: roomID, since: requestedSince, limit: requestedSince == nil ? 0 : Int.max, retracted: true, on: eventLoop)
        }.flatMap { [eventLoop] snapshot -> EventLoopFuture<(HistorySnapshot, UInt64?)> in
            // Seqs of another numbering say nothing about this one: the viewer gets it from its start.
            // (Epoch 0 is a room that had none yet: its seqs are of the numbering that began next.)
            guard let epoch, epoch != 0, requestedSince != nil, epoch != snapshot.epoch else { return eventLoop.makeSucceededFuture((snapshot, requestedSince)) }
            return log.snapshot(room: roomID, since: 0, limit: Int.max, on: eventLoop).map { ($0, 0) }
        }.assumeIsolated().whenComplete { [self] result in
            guard self.room(roomID) === room else { return }
            if case .failure(let error) = result, retry(kind, for: room, group: group, attempt: attempt, error: error) { return }
            room.joiners.endRead(kind)
            // The settings as read when the room was attached (another loop may have attached it).
            room.apply(policy(roomID), now: eventLoop.now)
            switch result {
            case .success(let (snapshot, since)):
                let window = room.window
                let online = max(online.count(roomID), room.viewerCount)
                var becameReady = false
                for viewer in group where viewer.isJoining {
                    if room.activate(viewer, snapshot: snapshot, since: since, window: window, online: online, now: eventLoop.now, allocator: allocator) {
                        becameReady = true
                    }
                }
                // (A viewer its catch-up closed may have been the room's last: the room is gone.)
                if becameReady, self.room(roomID) === room { markDirty(room) }
            case .failure(let error):
                let joining = group.filter(\.isJoining)
                if !joining.isEmpty {
                    logger.warning("history unavailable", metadata: ["room": "\(roomID)", "viewers": "\(joining.count)", "error": "\(error)"])
                }
                for viewer in joining { viewer.viewer.close(code: .unexpectedServerError, reason: "history unavailable") }
            }
            // Those that came while this read was on its way.
            read(kind, for: room)
        }
    }

    /// After a failed read: keeps the viewers still within `HistoryRetry.patience` of their join
    /// waiting, and reads again for them (and whoever comes meanwhile) after a backoff. False
    /// when none is within it: the caller closes them.
    private func retry(_ kind: HistoryRead, for room: LoopRoom, group: [RoomSubscription], attempt: Int, error: any Error) -> Bool {
        let now = eventLoop.now
        var patient: [RoomSubscription] = []
        var expired: [RoomSubscription] = []
        for viewer in group where viewer.isJoining {
            if now - viewer.joinedAt < HistoryRetry.patience { patient.append(viewer) } else { expired.append(viewer) }
        }
        guard !patient.isEmpty else { return false }
        if !expired.isEmpty {
            logger.warning("history unavailable", metadata: ["room": "\(room.id)", "viewers": "\(expired.count)", "error": "\(error)"])
            for viewer in expired { viewer.viewer.close(code: .unexpectedServerError, reason: "history unavailable") }
        }
        if attempt == 1 {
            logger.info("history read failed; trying again", metadata: ["room": "\(room.id)", "viewers": "\(patient.count)", "error": "\(error)"])
        }
        // The read stays marked on its way: whoever comes meanwhile waits for the retry.
        room.joiners.waitAgain(patient, for: kind)
        // Between half the delay and all of it, at random: groups that failed together (every
        // resume point of a storm) do not come back together.
        let delay = HistoryRetry.delay(attempt: attempt).nanoseconds
        eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(delay / 2 + Int64.random(in: 0...delay / 2))) { [weak self] in
            guard let self, self.room(room.id) === room else { return }
            room.joiners.endRead(kind)
            read(kind, for: room, attempt: attempt + 1)
        }
        return true
    }
}

/// How a joining viewer's failed history read is tried again (`HistoryReads.read`).
public enum HistoryRetry {
    /// How long a joining viewer waits while its history read fails and is tried again, before
    /// it is closed (`history unavailable`) to come back later or elsewhere: a store that blinks
    /// (a Redis reconnect, a timeout under a storm) costs a wait, not a crowd reconnecting at once.
    public static let patience = TimeAmount.seconds(10)

    /// The longest wait before read `attempt + 1`: 250 ms, doubling, at most 2 s (`HistoryReads`
    /// waits between half of it and all of it, at random).
    public static func delay(attempt: Int) -> TimeAmount {
        .milliseconds(250 << min(max(attempt - 1, 0), 3))
    }
}
