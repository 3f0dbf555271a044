// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore

/// When one loop's rooms have their batches cut (each room's window, tuned every
/// `WindowTuner.interval`), and how each batch goes out to the room's viewers, a slice at a time
/// between the loop's polls of its sockets.
///
/// Owned by a `PushShard`, touched only on that shard's loop, never locked.
final class BatchScheduler {
    private let eventLoop: any EventLoop
    private let metrics: PushMetrics
    private let allocator: ByteBufferAllocator
    /// The shard's compressor, as a closure made once: a method passed as a function value is a
    /// new closure (an allocation) each time, and fan-out passes it once per few writes.
    private let compressor: () -> FrameCompressor?
    /// The shard's rooms, whose windows are tuned.
    private let rooms: () -> Dictionary<RoomID, LoopRoom>.Values
    /// How long the loop slept, when the server measures it (the windows' headroom).
    private let loopSleep: LoopSleepMeter?
    /// How long one slice of fan-out writes before the loop looks at its sockets again.
    private let fanOutSlice: TimeAmount
    /// Batches are cut at origin + k × window, so the period never stretches with flush time.
    private let origin: NIODeadline
    /// Chooses each room's window from what this loop's frames cost, every
    /// `WindowTuner.interval`.
    let windows: WindowTuner
    /// Rooms with comments to send, each until its batch has started.
    private var dirty: [LoopRoom] = []
    private var scheduledFlush: (deadline: NIODeadline, task: Scheduled<Void>)?
    /// Rooms whose batch is still on its way to their viewers, continued a slice at a time.
    private var fanningOut: [LoopRoom] = []
    /// Whether `flushDue` runs again after the loop's next look at its sockets.
    private var resumeRequested = false
    /// How the scheduler waits for that look (see `NextIOTurn`); nil until made, and in tests.
    private var ioTurn: NextIOTurn?
    /// The next tuning of the windows; nil before `start` and after `stop`.
    private var tuner: Scheduled<Void>?

    /// - Parameters:
    ///   - index: the loop's number, which names its gauges.
    ///   - hub: the push settings, metrics and loop sleep the batches go by.
    ///   - compressor: the shard's compressor (`PushShard.compressor`).
    ///   - rooms: the shard's rooms.
    init(
        eventLoop: any EventLoop, index: Int, hub: PushHub, allocator: ByteBufferAllocator, compressor: @escaping () -> FrameCompressor?,
        rooms: @escaping () -> Dictionary<RoomID, LoopRoom>.Values
    ) {
        self.eventLoop = eventLoop
        self.metrics = hub.metrics
        self.allocator = allocator
        self.compressor = compressor
        self.rooms = rooms
        self.loopSleep = hub.loopSleep
        self.fanOutSlice = hub.configuration.fanOutSlice
        self.origin = eventLoop.now
        let configuration = hub.configuration
        let controller = BatchWindowController(
            floor: .milliseconds(Int64(configuration.batchWindowMilliseconds)),
            ceiling: .milliseconds(Int64(configuration.maxBatchWindowMilliseconds)),
            maxDelay: .milliseconds(Int64(clamping: configuration.maxDelayMilliseconds)),
            fixedSendsPerSecond: configuration.maxSendsPerSecond.map { Double($0) / Double(hub.shardCount) },
            targetBusy: configuration.targetLoopBusy)
        self.windows = WindowTuner(controller: controller, metrics: hub.metrics, loop: index)
    }

    /// Starts the window tuning and the wait for the loop's turns of I/O (batching only).
    func start() {
        guard windows.isBatching else { return }
        startTuning()
        NextIOTurn.make(on: eventLoop, { [weak self] in self?.resume() }) { [weak self] turn in
            // The tuner runs from `start` until `stop`: a turn made after `stop` is not kept.
            guard let self, self.tuner != nil else { return turn?.close() ?? () }
            self.ioTurn = turn
        }
    }

    /// Cancels the timers: the tuning and a pending flush (the shard may be released next).
    func stop() {
        tuner?.cancel()
        tuner = nil
        ioTurn?.close()
        ioTurn = nil
        scheduledFlush?.task.cancel()
        scheduledFlush = nil
    }

    /// Tunes the windows every `WindowTuner.interval` until the shard stops.
    private func startTuning() {
        tuner = eventLoop.assumeIsolated().scheduleTask(in: WindowTuner.interval) { [weak self] in
            guard let self else { return }
            self.windows.tune(self.rooms(), sleptTotal: self.loopSleep?.total(of: self.eventLoop))
            self.startTuning()
        }
    }

    /// `room` has comments to send: its batch is due at the next multiple of its window (at once
    /// in the naive mode).
    func markDirty(_ room: LoopRoom) {
        if !windows.isBatching {
            // The naive mode: no batching, every comment is written as soon as it arrives.
            record(room.flush(allocator: allocator, framePerComment: true, compressor: compressor, now: eventLoop.now))
            return
        }
        guard !room.isDirty else { return }
        room.isDirty = true
        let window = room.window
        let windowsSoFar = (eventLoop.now - origin).nanoseconds / window.nanoseconds + 1
        room.flushDeadline = origin + .nanoseconds(windowsSoFar * window.nanoseconds)
        dirty.append(room)
        scheduleFlush(at: room.flushDeadline)
    }

    /// Sets the flush timer for `deadline`, unless it is already set for an earlier one.
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

    /// Starts the batches of the rooms whose deadline has come, and sets the timer for the next
    /// one. A room whose previous batch is still on its way waits for it: its next batch starts
    /// when that one is out, with everything that arrived meanwhile.
    private func flushDue() {
        let now = eventLoop.now
        let started = NIODeadline.now()
        var written = Flushed()
        var next: NIODeadline?
        var remaining = 0
        // By index: iterating the array while compacting it would copy it.
        for index in dirty.indices {
            let room = dirty[index]
            if room.flushDeadline <= now, !room.isFanningOut {
                room.isDirty = false
                // The slice's time left goes to this room's viewers; the rest of its batch follows.
                let allowed = sliceEnded(since: started) ? 0 : Self.writesBetweenClockReads
                if let since = room.pendingSince, !room.pending.isEmpty {
                    metrics.batchWait.recordNanoseconds(max(0, (now - since).nanoseconds))
                }
                room.outgoingSince = room.pending.isEmpty ? nil : room.pendingSince
                room.pendingSince = nil
                room.fanOutStarted = NIODeadline.now()
                let flushed = room.flush(allocator: allocator, framePerComment: false, compressor: compressor, now: now, writeLimit: allowed)
                written.add(flushed)
                if room.isFanningOut {
                    fanningOut.append(room)
                } else if flushed.frames > 0 {
                    recordFanOut(of: room)
                }
            } else {
                dirty[remaining] = room
                remaining += 1
                // A room still fanning out whose deadline has passed starts its next batch when the
                // previous one is out (`startWaitingBatches`); any other waits for its deadline,
                // fanning out or not.
                if room.flushDeadline > now { next = min(next ?? room.flushDeadline, room.flushDeadline) }
            }
        }
        dirty.removeLast(dirty.count - remaining)
        if let next { scheduleFlush(at: next) }
        written.add(writeSlice(started: started))
        finishSlice(written, started: started)
    }

    /// Writes batches on their way, a few viewers of each room in turn, until the slice's time is
    /// up or every batch is out.
    private func writeSlice(started: NIODeadline) -> Flushed {
        var written = Flushed()
        var finished = false
        // At least one round per slice, however short the slice: every turn makes progress.
        var firstRound = true
        while !fanningOut.isEmpty, firstRound || !sliceEnded(since: started) {
            firstRound = false
            var remaining = 0
            // By index: iterating the array while compacting it would copy it every round.
            for index in fanningOut.indices {
                let room = fanningOut[index]
                written.add(room.continueFanOut(writeLimit: Self.writesBetweenClockReads, allocator: allocator, compressor: compressor))
                if room.isFanningOut {
                    fanningOut[remaining] = room
                    remaining += 1
                } else {
                    finished = true
                    recordFanOut(of: room)
                }
            }
            fanningOut.removeLast(fanningOut.count - remaining)
        }
        if finished { startWaitingBatches() }
        return written
    }

    /// A room's batch is out to all its viewers on this loop.
    private func recordFanOut(of room: LoopRoom) {
        guard !room.viewers.isEmpty else { return }
        metrics.fanOutDuration(viewers: room.viewers.count).recordNanoseconds((NIODeadline.now() - room.fanOutStarted).nanoseconds)
        if let since = room.outgoingSince {
            room.recentDelay = max(.zero, eventLoop.now - since)
            metrics.batchDelay.recordNanoseconds(room.recentDelay.nanoseconds)
            room.outgoingSince = nil
        }
    }

    /// Writes between two looks at the clock: a few dozen microseconds of work at most.
    private static let writesBetweenClockReads = 16

    private func sliceEnded(since started: NIODeadline) -> Bool {
        NIODeadline.now() - started >= fanOutSlice
    }

    /// Rooms whose deadline passed while their previous batch was on its way start the next one.
    private func startWaitingBatches() {
        guard dirty.contains(where: { !$0.isFanningOut && $0.flushDeadline <= eventLoop.now }) else { return }
        resumeAfterIO()
    }

    /// Records a slice of fan-out, and resumes after the loop's next look at its sockets if
    /// batches are still on their way.
    private func finishSlice(_ written: Flushed, started: NIODeadline) {
        if written.frames > 0 {
            let elapsed = (NIODeadline.now() - started).nanoseconds
            windows.record(nanoseconds: elapsed, frames: written.frames)
            metrics.flushDuration.recordNanoseconds(elapsed)
            record(written)
        }
        if !fanningOut.isEmpty { resumeAfterIO() }
    }

    /// Runs `flushDue` (due batches started, those on their way continued) once the loop has
    /// handled its sockets' events: posts, joins and pongs go between two slices.
    private func resumeAfterIO() {
        guard !resumeRequested else { return }
        resumeRequested = true
        if let ioTurn {
            ioTurn.request()
        } else {
            // A loop that polls no descriptors (tests): a task a moment ahead.
            eventLoop.assumeIsolated().scheduleTask(in: .microseconds(20)) { [weak self] in self?.resume() }
        }
    }

    private func resume() {
        resumeRequested = false
        flushDue()
    }

    /// Counts what a flush wrote (or a display budget shed) on the push metrics.
    func record(_ written: Flushed) {
        if written.shed > 0 { metrics.shed.increment(by: written.shed) }
        if written.merged > 0 { metrics.merged.increment(by: written.merged) }
        guard written.frames > 0 else { return }
        metrics.frames.increment(by: written.frames)
        metrics.bytes.increment(by: written.bytes)
        metrics.deliveries.increment(by: written.deliveries)
        metrics.batchComments.record(written.deliveries / written.frames)
    }
}
