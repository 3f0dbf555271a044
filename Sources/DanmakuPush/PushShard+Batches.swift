// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore

/// Batches: when each room's batch is cut (its window, tuned every 100 ms), and how it goes out
/// to the room's viewers, a slice at a time between the loop's polls of its sockets.
extension PushShard {
    /// Tunes the windows every `WindowTuner.interval` until the shard stops.
    func startTuning() {
        tuner = eventLoop.assumeIsolated().scheduleTask(in: WindowTuner.interval) { [weak self] in
            guard let self else { return }
            self.windows.tune(self.rooms.values, sleptTotal: self.hub.loopSleep?.total(of: self.eventLoop))
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
    func scheduleFlush(at deadline: NIODeadline) {
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
    func flushDue() {
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
                    hub.metrics.batchWait.recordNanoseconds(max(0, (now - since).nanoseconds))
                }
                room.outgoingSince = room.pending.isEmpty ? nil : room.pendingSince
                room.pendingSince = nil
                room.fanOutStarted = NIODeadline.now()
                let flushed = room.flush(allocator: allocator, framePerComment: false, compressor: compressorOnce, now: now, writeLimit: allowed)
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
    func writeSlice(started: NIODeadline) -> Flushed {
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
                written.add(room.continueFanOut(writeLimit: Self.writesBetweenClockReads, allocator: allocator, compressor: compressorOnce))
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
    func recordFanOut(of room: LoopRoom) {
        guard !room.viewers.isEmpty else { return }
        metrics.fanOutDuration(viewers: room.viewers.count).recordNanoseconds((NIODeadline.now() - room.fanOutStarted).nanoseconds)
        if let since = room.outgoingSince {
            room.recentDelay = max(.zero, eventLoop.now - since)
            metrics.batchDelay.recordNanoseconds(room.recentDelay.nanoseconds)
            room.outgoingSince = nil
        }
    }

    /// Writes between two looks at the clock: a few dozen microseconds of work at most.
    static let writesBetweenClockReads = 16

    func sliceEnded(since started: NIODeadline) -> Bool {
        NIODeadline.now() - started >= hub.configuration.fanOutSlice
    }

    /// Rooms whose deadline passed while their previous batch was on its way start the next one.
    func startWaitingBatches() {
        guard dirty.contains(where: { !$0.isFanningOut && $0.flushDeadline <= eventLoop.now }) else { return }
        resumeAfterIO()
    }

    /// Records a slice of fan-out, and resumes after the loop's next look at its sockets if
    /// batches are still on their way.
    func finishSlice(_ written: Flushed, started: NIODeadline) {
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
    func resumeAfterIO() {
        guard !resumeRequested else { return }
        resumeRequested = true
        if let ioTurn {
            ioTurn.request()
        } else {
            // A loop that polls no descriptors (tests): a task a moment ahead.
            eventLoop.assumeIsolated().scheduleTask(in: .microseconds(20)) { [weak self] in self?.resume() }
        }
    }

    func resume() {
        resumeRequested = false
        flushDue()
    }

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
