// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import DanmakuRedis
import NIOCore
import Synchronization

/// Publishes accepted comments on their rooms' channels: what a room accepts within one
/// `window` goes out as one message, their JSON one per line.
final class RoomBatchPublisher: Sendable {
    private struct Outbox {
        var rooms: [RoomID: [EncodedComment]] = [:]
        var flushScheduled = false
    }

    /// How long accepted comments collect before a room's batch is published.
    private let window: TimeAmount
    private let outbox = Mutex(Outbox())
    private let redis: RedisRouter
    private let eventLoop: any EventLoop
    private let metrics: BusMetrics

    init(window: TimeAmount, redis: RedisRouter, eventLoop: any EventLoop, metrics: BusMetrics) {
        self.window = window
        self.redis = redis
        self.eventLoop = eventLoop
        self.metrics = metrics
    }

    /// Adds `comments` to `room`'s next batch, published at the end of the current window.
    func publish(_ comments: [EncodedComment], room: RoomID) {
        let schedule = outbox.withLock { outbox -> Bool in
            outbox.rooms[room, default: []].append(contentsOf: comments)
            defer { outbox.flushScheduled = true }
            return !outbox.flushScheduled
        }
        if schedule {
            eventLoop.scheduleTask(in: window) { [self] in flush() }
        }
    }

    /// Publishes each room's waiting comments as one message: their JSON, one per line.
    func flush() {
        let rooms = outbox.withLock { outbox -> [RoomID: [EncodedComment]] in
            outbox.flushScheduled = false
            defer { outbox.rooms.removeAll(keepingCapacity: true) }
            return outbox.rooms
        }
        for (room, comments) in rooms {
            var payload = ByteBuffer()
            payload.reserveCapacity(comments.reduce(0) { $0 + $1.json.readableBytes + 1 })
            for (index, comment) in comments.enumerated() {
                if index > 0 { payload.writeStaticString("\n") }
                payload.writeImmutableBuffer(comment.json)
            }
            metrics.published.increment()
            let channel = RedisKeys(room).channel
            redis.send(RESPCommand("SPUBLISH", [RESPArgument(channel), RESPArgument(bytes: payload)]), key: channel)
                .whenFailure { [metrics] _ in metrics.publishFailures.increment() }
        }
    }
}
