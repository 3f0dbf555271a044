// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import Logging
import CoreMetrics
import NIOCore

/// Everything the push role keeps for one EventLoop: its rooms, its viewers and its batch clock.
///
/// Connections are sharded by the loop that accepted them, so the fan-out loop runs without
/// locks; comments reach a shard as one task per bus message.
final class PushShard {
    let eventLoop: any EventLoop
    let index: Int
    private unowned let hub: PushHub
    private var rooms: [RoomID: LoopRoom] = [:]
    private var dirty: [LoopRoom] = []
    private var scheduledFlush: (deadline: NIODeadline, task: Scheduled<Void>)?
    /// Batches are cut at origin + k × window, so the period never stretches with flush time.
    private let origin: NIODeadline
    private let policy: BatchWindowPolicy
    /// Rooms that received comments in the last sweep period (the adaptive budget's divisor).
    private var activeRooms = 1
    private let metrics: PushMetrics
    private let windowGauge: Gauge
    private var sweeper: Scheduled<Void>?
    /// Open viewer connections on this loop, whatever rooms they watch.
    private var connections: [ObjectIdentifier: ViewerHandler] = [:]
    var viewerCount: Int { connections.count }
    private let allocator = ByteBufferAllocator()
    /// Created on first use: zlib state is only worth its memory once a viewer negotiates it.
    private var compressorStorage: FrameCompressor?

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
        self.windowGauge = hub.metrics.windowGauge(loop: index)
        let configuration = hub.configuration
        self.policy = BatchWindowPolicy(
            floor: .milliseconds(Int64(configuration.batchWindowMilliseconds)),
            ceiling: .milliseconds(Int64(configuration.maxBatchWindowMilliseconds)),
            sendsPerSecond: configuration.maxSendsPerSecond.map { Double($0) / Double(hub.shardCount) })
    }

    /// Starts the once-a-second heartbeat and reorder sweep.
    func start() {
        eventLoop.preconditionInEventLoop()
        // Weak: a timer must not outlive the shard it works for (stop() cancels them, and a
        // shard released meanwhile is simply skipped).
        sweeper = eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { [weak self] in
            guard let self else { return }
            self.sweep(now: self.eventLoop.now)
            self.start()
        }
    }

    /// Cancels the shard's timers: the sweep and a pending flush (the shard may be released next).
    func stop() {
        sweeper?.cancel()
        sweeper = nil
        scheduledFlush?.task.cancel()
        scheduledFlush = nil
    }

    // MARK: Viewers

    /// Counts a new viewer connection (for heartbeats, draining and the connection gauge).
    func open(_ viewer: ViewerHandler) {
        eventLoop.preconditionInEventLoop()
        guard connections.updateValue(viewer, forKey: ObjectIdentifier(viewer)) == nil else { return }
        metrics.viewers.increment()
    }

    /// Forgets a viewer connection; its rooms are left separately (`leave`).
    func close(_ viewer: ViewerHandler) {
        eventLoop.preconditionInEventLoop()
        guard connections.removeValue(forKey: ObjectIdentifier(viewer)) != nil else { return }
        metrics.viewers.decrement()
    }

    /// Adds a viewer to a room, subscribes the room if needed, then activates it with its history.
    func join(_ viewer: RoomSubscription) {
        eventLoop.preconditionInEventLoop()
        let room: LoopRoom
        if let existing = rooms[viewer.room] {
            room = existing
        } else {
            room = LoopRoom(id: viewer.room)
            rooms[viewer.room] = room
            metrics.rooms.increment()
        }
        room.addJoining(viewer)
        let roomID = viewer.room
        let (requestedSince, epoch) = (viewer.since, viewer.epoch)
        let log = hub.log
        // Attaching is idempotent; every joiner waits until the room's subscription is live, so
        // whatever is published after its snapshot is read is sure to reach this loop.
        hub.attach(roomID, shard: index).flatMap { [eventLoop] in
            log.snapshot(room: roomID, since: requestedSince, limit: requestedSince == nil ? 0 : Int.max, on: eventLoop)
        }.flatMap { [eventLoop] snapshot -> EventLoopFuture<(HistorySnapshot, UInt64?)> in
            // Seqs of another numbering say nothing about this one: the viewer gets it from its start.
            // (Epoch 0 is a room that had none yet: its seqs are of the numbering that began next.)
            guard let epoch, epoch != 0, requestedSince != nil, epoch != snapshot.epoch else { return eventLoop.makeSucceededFuture((snapshot, requestedSince)) }
            return log.snapshot(room: roomID, since: 0, limit: Int.max, on: eventLoop).map { ($0, 0) }
        }.assumeIsolated().whenComplete { [self] result in
            guard rooms[roomID] === room, viewer.isJoining else { return }
            // The budget as read when the room was attached (another loop may have attached it).
            room.setDisplayPerSecond(hub.displayBudget(roomID), now: eventLoop.now)
            switch result {
            case .success(let (snapshot, since)):
                let window = policy.window(viewers: room.viewers.count + 1, activeRooms: activeRooms)
                let online = max(hub.online.count(roomID), room.viewerCount)
                if room.activate(viewer, snapshot: snapshot, since: since, window: window, online: online, now: eventLoop.now, allocator: allocator) {
                    markDirty(room)
                }
            case .failure(let error):
                hub.logger.warning("history unavailable", metadata: ["room": "\(roomID)", "error": "\(error)"])
                viewer.viewer.close(code: .unexpectedServerError, reason: "history unavailable")
            }
        }
    }

    /// Takes a viewer out of a room; the last one out releases the room's subscription.
    func leave(_ viewer: RoomSubscription) {
        eventLoop.preconditionInEventLoop()
        viewer.endJoining()
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
    func receive(_ comments: [EncodedComment], room id: RoomID) {
        eventLoop.preconditionInEventLoop()
        guard let room = rooms[id] else { return }
        if room.receive(comments, now: eventLoop.now) { markDirty(room) }
    }

    /// A comment of `room` was taken back: drop it if not sent yet, and tell the viewers.
    func retract(seq: UInt64, id: String, room roomID: RoomID) {
        eventLoop.preconditionInEventLoop()
        rooms[roomID]?.retract(seq: seq, id: id)
    }

    private func markDirty(_ room: LoopRoom) {
        if policy.floor == .zero {
            // The naive mode: no batching, every comment is written as soon as it arrives.
            record(room.flush(allocator: allocator, framePerComment: true, compressor: compressor, now: eventLoop.now))
            return
        }
        guard !room.isDirty else { return }
        room.isDirty = true
        let window = policy.window(viewers: room.viewers.count, activeRooms: activeRooms)
        let windows = (eventLoop.now - origin).nanoseconds / window.nanoseconds + 1
        room.flushDeadline = origin + .nanoseconds(windows * window.nanoseconds)
        dirty.append(room)
        scheduleFlush(at: room.flushDeadline)
    }

    private func scheduleFlush(at deadline: NIODeadline) {
        if let scheduled = scheduledFlush {
            if scheduled.deadline <= deadline { return }
            scheduled.task.cancel()
        }
        let task = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            guard let self else { return }
            self.scheduledFlush = nil
            self.flushDue()
        }
        scheduledFlush = (deadline, task)
    }

    /// Flushes the rooms whose deadline has come, and sets the timer for the next one.
    private func flushDue() {
        let now = eventLoop.now
        let started = NIODeadline.now()
        defer { metrics.flushDuration.recordNanoseconds((NIODeadline.now() - started).nanoseconds) }
        var next: NIODeadline?
        var remaining = 0
        for room in dirty {
            if room.flushDeadline <= now {
                room.isDirty = false
                record(room.flush(allocator: allocator, framePerComment: false, compressor: compressor, now: now))
            } else {
                dirty[remaining] = room
                remaining += 1
                next = min(next ?? room.flushDeadline, room.flushDeadline)
            }
        }
        dirty.removeLast(dirty.count - remaining)
        if let next { scheduleFlush(at: next) }
    }

    private func record(_ written: Flushed) {
        if written.shed > 0 { metrics.shed.increment(by: written.shed) }
        guard written.frames > 0 else { return }
        metrics.frames.increment(by: written.frames)
        metrics.deliveries.increment(by: written.deliveries)
        metrics.batchComments.record(written.deliveries / written.frames)
    }

    /// Applies rooms' display budgets (from their settings).
    func setDisplayBudgets(_ budgets: [RoomID: Int?]) {
        eventLoop.preconditionInEventLoop()
        for (id, perSecond) in budgets { rooms[id]?.setDisplayPerSecond(perSecond, now: eventLoop.now) }
    }

    // MARK: Online counts

    /// Viewers per room on this loop.
    func roomCounts() -> [RoomID: Int] {
        rooms.mapValues(\.viewerCount)
    }

    /// Sends `online` to each room whose count (the deployment's, or this loop's own when that is
    /// more recent and larger) changed since it was last sent.
    func announceOnline() {
        eventLoop.preconditionInEventLoop()
        for room in rooms.values {
            room.announceOnline(max(hub.online.count(room.id), room.viewerCount))
        }
    }

    // MARK: Heartbeats

    private func sweep(now: NIODeadline) {
        var expired: [ViewerHandler] = []
        var active = 0
        for room in rooms.values {
            if room.receivedRecently { active += 1 } else { record(room.settleShed(allocator: allocator)) }
            room.receivedRecently = false
            if room.skipStalledGap(now: now, timeout: hub.configuration.reorderTimeout) {
                hub.logger.warning("skipped a missing seq after the reorder timeout", metadata: ["room": "\(room.id)"])
                markDirty(room)
            }
        }
        for viewer in connections.values where viewer.heartbeat(now: now) == false { expired.append(viewer) }
        activeRooms = max(1, active)
        let widest = rooms.values.lazy.map { $0.viewers.count }.max() ?? 0
        windowGauge.record(policy.window(viewers: widest, activeRooms: activeRooms).nanoseconds / 1_000_000)
        for viewer in expired { viewer.close(code: .goingAway, reason: "idle timeout") }
    }

    /// Sends every viewer close 1001; the future completes when all their channels are closed.
    func drain() -> EventLoopFuture<Void> {
        eventLoop.preconditionInEventLoop()
        var closed: [EventLoopFuture<Void>] = []
        for viewer in connections.values {
            if let future = viewer.closeFuture { closed.append(future) }
            viewer.close(code: .goingAway, reason: "server shutting down")
        }
        return EventLoopFuture.andAllComplete(closed, on: eventLoop)
    }
}
