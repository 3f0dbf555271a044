// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Logging
import NIOCore
import Tracing

/// Everything the push role keeps for one EventLoop: its rooms, its viewers and its batch clock.
///
/// Connections are sharded by the loop that accepted them, so the fan-out loop runs without
/// locks; comments reach a shard as one task per bus message.
final class PushShard {
    let eventLoop: any EventLoop
    let index: Int
    unowned let hub: PushHub
    var rooms: [RoomID: LoopRoom] = [:]
    var dirty: [LoopRoom] = []
    var scheduledFlush: (deadline: NIODeadline, task: Scheduled<Void>)?
    /// Batches are cut at origin + k × window, so the period never stretches with flush time.
    let origin: NIODeadline
    /// Chooses each room's window from what this loop's frames cost, every
    /// `WindowTuner.interval`.
    let windows: WindowTuner
    /// Rooms whose batch is still on its way to their viewers, continued a slice at a time.
    var fanningOut: [LoopRoom] = []
    /// Whether `flushDue` runs again after the loop's next look at its sockets.
    var resumeRequested = false
    /// How the shard waits for that look (see `NextIOTurn`); nil until made, and in tests.
    var ioTurn: NextIOTurn?
    var tuner: Scheduled<Void>?
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
        room: { [weak self] id in self?.rooms[id] }, markDirty: { [weak self] room in self?.markDirty(room) })

    /// `compressor` as a closure made once: a method passed as a function value is a new closure
    /// (an allocation) each time, and fan-out passes it once per few writes.
    lazy var compressorOnce: () -> FrameCompressor? = { [unowned self] in self.compressor() }

    /// This loop's permessage-deflate compressor (nil if zlib could not be set up).
    func compressor() -> FrameCompressor? {
        if compressorStorage == nil { compressorStorage = try? FrameCompressor() }
        return compressorStorage
    }

    init(eventLoop: any EventLoop, index: Int, hub: PushHub) {
        self.eventLoop = eventLoop
        self.index = index
        self.hub = hub
        self.origin = eventLoop.now
        self.metrics = hub.metrics
        self.connections = LoopConnections(metrics: hub.metrics)
        let configuration = hub.configuration
        let controller = BatchWindowController(
            floor: .milliseconds(Int64(configuration.batchWindowMilliseconds)),
            ceiling: .milliseconds(Int64(configuration.maxBatchWindowMilliseconds)),
            maxDelay: .milliseconds(Int64(clamping: configuration.maxDelayMilliseconds)),
            fixedSendsPerSecond: configuration.maxSendsPerSecond.map { Double($0) / Double(hub.shardCount) },
            targetBusy: configuration.targetLoopBusy)
        self.windows = WindowTuner(controller: controller, metrics: hub.metrics, loop: index)
    }

    /// Starts the once-a-second heartbeat and reorder sweep, and the window tuning.
    func start() {
        eventLoop.preconditionInEventLoop()
        startSweeping()
        guard windows.isBatching else { return }
        startTuning()
        NextIOTurn.make(on: eventLoop, { [weak self] in self?.resume() }) { [weak self] turn in
            guard let self, self.sweeper != nil else { return turn?.close() ?? () }
            self.ioTurn = turn
        }
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

    /// Cancels the shard's timers: the sweep and a pending flush (the shard may be released next).
    func stop() {
        sweeper?.cancel()
        sweeper = nil
        tuner?.cancel()
        tuner = nil
        ioTurn?.close()
        ioTurn = nil
        scheduledFlush?.task.cancel()
        scheduledFlush = nil
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
            room = LoopRoom(id: viewer.room, window: windows.floor)
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
        if room.receive(comments, now: eventLoop.now, trace: trace) { markDirty(room) }
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
        if room.retract(seq: seq, id: id, seqReused: seqReused, reason: reason, now: eventLoop.now) { markDirty(room) }
    }

    /// Comments of `room` numbered with seqs its viewers were already sent or skipped past.
    func renumbered(_ comments: [EncodedComment], room roomID: RoomID) {
        eventLoop.preconditionInEventLoop()
        guard let room = rooms[roomID] else { return }
        if room.renumbered(comments, now: eventLoop.now) { markDirty(room) }
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
            if !room.receivedRecently { record(room.budgeted.settleShed(room.viewers, allocator: allocator)) }
            room.receivedRecently = false
            if !room.repairingGap, let missing = room.stalledGap(now: now, timeout: hub.configuration.reorderTimeout) {
                repairGap(missing, of: room)
            }
        }
        let expired = connections.heartbeat(now: now)
        if !windows.isBatching { windows.recordNaive() }
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
            if read.apply(result, to: room, now: self.eventLoop.now, logger: self.hub.logger) { self.markDirty(room) }
        }
    }

    /// Sends every viewer close 1001; the future completes when all their channels are closed.
    func drain() -> EventLoopFuture<Void> {
        eventLoop.preconditionInEventLoop()
        return connections.drain(on: eventLoop)
    }
}
