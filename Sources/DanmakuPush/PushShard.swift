// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Logging
import NIOCore
import Tracing

/// Everything the push role keeps for one EventLoop: its rooms and its viewers, whose batches
/// its `BatchScheduler` cuts and sends.
///
/// Connections are sharded by the loop that accepted them, so the fan-out loop runs without
/// locks; comments reach a shard as one task per bus message.
final class PushShard {
    let eventLoop: any EventLoop
    let index: Int
    unowned let hub: PushHub
    var rooms: [RoomID: LoopRoom] = [:]
    let metrics: PushMetrics
    private var sweeper: Scheduled<Void>?
    /// Open viewer connections on this loop, whatever rooms they watch.
    let connections: LoopConnections
    var viewerCount: Int { connections.count }
    let allocator = ByteBufferAllocator()
    /// Created on first use: zlib state is only worth its memory once a viewer negotiates it.
    private var compressorStorage: FrameCompressor?

    /// The history reads of this loop's joining viewers, which find their rooms again in `rooms`.
    lazy var history = HistoryReads(
        eventLoop: eventLoop, log: hub.log, logger: hub.logger, allocator: allocator, online: hub.online,
        attach: { [unowned hub, index] room in hub.attach(room, shard: index) }, policy: { [unowned hub] room in hub.policy(room) },
        room: { [weak self] id in self?.rooms[id] }, markDirty: { [weak self] room in self?.batches.markDirty(room) })

    /// When each room's batch is cut and how it goes out to the room's viewers. Lazy only so that
    /// it can borrow this shard's compressor and rooms (which it uses while the shard lives: it is
    /// the shard's alone, and its timers hold it weakly); `init` makes it at once.
    private(set) lazy var batches = BatchScheduler(
        eventLoop: eventLoop, index: index, hub: hub, allocator: allocator, compressor: { [unowned self] in self.compressor() },
        rooms: { [unowned self] in self.rooms.values })

    /// This loop's permessage-deflate compressor (nil if zlib could not be set up).
    func compressor() -> FrameCompressor? {
        if compressorStorage == nil { compressorStorage = try? FrameCompressor() }
        return compressorStorage
    }

    init(eventLoop: any EventLoop, index: Int, hub: PushHub) {
        self.eventLoop = eventLoop
        self.index = index
        self.hub = hub
        self.metrics = hub.metrics
        self.connections = LoopConnections(metrics: hub.metrics)
        // Now, not on first use: batches are cut from this moment on (its origin), and the loop's
        // window gauges exist as soon as the shard does.
        _ = batches
    }

    /// Starts the once-a-second heartbeat and reorder sweep, and the window tuning.
    func start() {
        eventLoop.preconditionInEventLoop()
        startSweeping()
        batches.start()
    }

    private func startSweeping() {
        // Weak: a timer must not outlive the shard it works for (stop() cancels them, and a
        // shard released meanwhile is simply skipped).
        sweeper = eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { [weak self] in
            guard let self else { return }
            self.sweep(now: self.eventLoop.now)
            self.startSweeping()
        }
    }

    /// Cancels the shard's timers: the sweep and its batches' (the shard may be released next).
    func stop() {
        sweeper?.cancel()
        sweeper = nil
        batches.stop()
    }

    // MARK: Viewers

    /// Counts a new viewer connection (for heartbeats, draining and the connection gauge).
    func open(_ viewer: ViewerHandler) {
        eventLoop.preconditionInEventLoop()
        connections.open(viewer)
    }

    /// Forgets a viewer connection; its rooms are left separately (`leave`).
    func close(_ viewer: ViewerHandler) {
        eventLoop.preconditionInEventLoop()
        connections.close(viewer)
    }

    /// Adds a viewer to a room, subscribes the room if needed, then activates it with its history.
    func join(_ viewer: RoomSubscription) {
        eventLoop.preconditionInEventLoop()
        let room: LoopRoom
        if let existing = rooms[viewer.room] {
            room = existing
        } else {
            room = LoopRoom(id: viewer.room, window: batches.windows.floor)
            rooms[viewer.room] = room
            metrics.rooms.increment()
        }
        viewer.joinedAt = eventLoop.now
        room.joiners.add(viewer)
        history.read(viewer.historyRead, for: room)
    }

    /// Takes a viewer out of a room; the last one out releases the room's subscription.
    func leave(_ viewer: RoomSubscription) {
        eventLoop.preconditionInEventLoop()
        viewer.leave()
        guard let room = rooms[viewer.room] else { return }
        room.remove(viewer)
        if room.isEmpty {
            rooms[viewer.room] = nil
            metrics.rooms.decrement()
            hub.detach(viewer.room, shard: index)
        }
    }

    // MARK: Comments

    /// New comments of `room` from the bus.
    func receive(_ comments: [EncodedComment], room id: RoomID, trace: ServiceContext? = nil) {
        eventLoop.preconditionInEventLoop()
        guard let room = rooms[id] else { return }
        if room.receive(comments, now: eventLoop.now, trace: trace) { batches.markDirty(room) }
    }

    /// A comment of `room` was taken back: drop it if not sent yet, and tell the viewers.
    func retract(seq: UInt64, id: String, room roomID: RoomID, seqReused: Bool, reason: RetractReason? = nil) {
        eventLoop.preconditionInEventLoop()
        guard let room = rooms[roomID] else { return }
        if hub.logger.logLevel <= .debug {
            hub.logger.debug("retract on loop", metadata: [
                "room": "\(roomID)", "seq": "\(seq)", "id": "\(id)", "next": "\(room.order.next.map(String.init) ?? "-")",
                "viewers": "\(room.viewerCount)", "fanningOut": "\(room.isFanningOut)",
            ])
        }
        if room.retract(seq: seq, id: id, seqReused: seqReused, reason: reason, now: eventLoop.now) { batches.markDirty(room) }
    }

    /// Comments of `room` numbered with seqs its viewers were already sent or skipped past.
    func renumbered(_ comments: [EncodedComment], room roomID: RoomID) {
        eventLoop.preconditionInEventLoop()
        guard let room = rooms[roomID] else { return }
        if room.renumbered(comments, now: eventLoop.now) { batches.markDirty(room) }
    }

    /// Like counts of `room` changed: they go to its viewers together, one frame per window.
    func liked(_ likes: [LikeCount], room roomID: RoomID) {
        eventLoop.preconditionInEventLoop()
        guard let room = rooms[roomID], room.collectLikes(likes) else { return }
        eventLoop.assumeIsolated().scheduleTask(in: room.window) { room.sendLikes() }
    }

    /// Applies rooms' settings (display budget, merged repeats).
    func setRoomPolicies(_ policies: [RoomID: RoomPolicy]) {
        eventLoop.preconditionInEventLoop()
        for (id, policy) in policies { rooms[id]?.apply(policy, now: eventLoop.now) }
    }

    // MARK: Online counts

    /// Viewers per room on this loop.
    func roomCounts() -> [RoomID: Int] {
        rooms.mapValues(\.viewerCount)
    }

    /// Sends `online` to each room whose count (the deployment's, or this loop's own when that is
    /// more recent and larger) changed since it was last sent, as often as its size allows
    /// (`OnlineAnnouncements.spacingPerViewer`).
    func announceOnline() {
        eventLoop.preconditionInEventLoop()
        for room in rooms.values {
            room.announceOnline(max(hub.online.count(room.id), room.viewerCount), now: eventLoop.now)
        }
    }

    // MARK: Heartbeats

    private func sweep(now: NIODeadline) {
        for room in rooms.values {
            if !room.receivedRecently { batches.record(room.budgeted.settleShed(room.viewers, allocator: allocator)) }
            room.receivedRecently = false
            if !room.repairingGap, let missing = room.stalledGap(now: now, timeout: hub.configuration.reorderTimeout) {
                repairGap(missing, of: room)
            }
        }
        let expired = connections.heartbeat(now: now)
        if !batches.windows.isBatching { batches.windows.recordNaive() }
        for viewer in expired { viewer.close(code: .goingAway, reason: "idle timeout") }
    }

    /// Reads seqs that have been missing for the reorder timeout from history (`GapRead`), one
    /// read at a time per room.
    private func repairGap(_ missing: ClosedRange<UInt64>, of room: LoopRoom) {
        room.repairingGap = true
        let read = GapRead(missing)
        hub.log.snapshot(room: room.id, since: read.since, limit: read.limit, on: eventLoop).assumeIsolated().whenComplete { [weak self] result in
            guard let self else { return }
            room.repairingGap = false
            // The room may have closed meanwhile (its last viewer left).
            guard self.rooms[room.id] === room else { return }
            if read.apply(result, to: room, now: self.eventLoop.now, logger: self.hub.logger) { self.batches.markDirty(room) }
        }
    }

    /// Sends every viewer close 1001; the future completes when all their channels are closed.
    func drain() -> EventLoopFuture<Void> {
        eventLoop.preconditionInEventLoop()
        return connections.drain(on: eventLoop)
    }
}
