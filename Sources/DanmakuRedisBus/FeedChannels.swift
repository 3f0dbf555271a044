// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuRedis
import Foundation
import Logging
import NIOCore
import Synchronization

/// Keeps each feed's room channel subscribed (SSUBSCRIBE), on the node serving it now.
///
/// A feed is live once its channel is subscribed on the current connection and its counter has
/// been read; its `ready` completes then. After a reconnect every channel of that node is
/// subscribed again, and the counters are polled at once so that whatever was published during
/// the outage is read from the streams. On a Redis Cluster a channel is subscribed on the master
/// serving its slot; when the slot map changes (a failover, a resharding) or the server drops the
/// channel, it is subscribed where it now lives, and the counters polled the same way.
final class FeedChannels: Sendable {
    private let table: FeedTable

    init(table: FeedTable) {
        self.table = table
    }

    /// Sends SUNSUBSCRIBE for `channel` to `node`, where it was subscribed.
    func unsubscribe(_ channel: String, on node: RedisNode, bus: RedisBus) {
        bus.redis.subscription(RESPCommand("SUNSUBSCRIBE", [RESPArgument(channel)]), channel: channel, on: node).whenFailure { _ in }
    }

    /// Sends SSUBSCRIBE for `room` (on `connection` to `node` during a reconnect, else to the
    /// node serving the channel now).
    func subscribe(_ room: RoomID, on connection: (RedisConnection, RedisNode)?, bus: RedisBus) -> EventLoopFuture<Void> {
        let generation = table.state.withLock { $0.feeds[room]?.channel.send(on: connection?.1) }
        guard let generation else { return bus.eventLoop.makeSucceededVoidFuture() }
        let channel = RedisKeys(room).channel
        let command = RESPCommand("SSUBSCRIBE", [RESPArgument(channel)])
        let sent: EventLoopFuture<RedisNode> = if let (connection, node) = connection {
            connection.send(command).map { _ in node }
        } else {
            bus.redis.subscription(command, channel: channel).map { $0.1 }
        }
        return sent.always { [self] result in
            let readCounter = table.state.withLock { state -> Bool in
                guard state.feeds[room]?.channel.answered(generation, by: try? result.get()) == true else { return false }
                if state.feeds[room]!.retractions.hasStarted {
                    state.feeds[room]!.retractions.readLatestSoon()
                    state.feeds[room]!.comparison.schedule(now: .now())
                }
                return state.feeds[room]!.tracker == nil
            }
            if readCounter { self.readCounter(room, bus: bus) }
        }.map { _ in () }
    }

    /// First read of a room's counter: where its feed starts. Completes `ready`.
    func readCounter(_ room: RoomID, bus: RedisBus) {
        table.state.withLock { $0.feeds[room]?.readingCounter = true }
        bus.roomCounters.read([room]).whenComplete { [self] result in
            let ready = table.state.withLock { state -> EventLoopPromise<Void>? in
                guard state.feeds[room] != nil else { return nil }
                state.feeds[room]!.readingCounter = false
                guard case .success(let counters) = result, let counter = counters.first, state.feeds[room]!.tracker == nil else { return nil }
                state.feeds[room]!.tracker = SeqTracker(frontier: counter.lastSeq)
                state.feeds[room]!.retractions.start(count: counter.retractions)
                state.feeds[room]!.epoch = counter.epoch
                return state.feeds[room]!.ready
            }
            ready?.succeed()
        }
    }

    /// On a new subscription connection to `node`: subscribes the rooms it serves again, then has
    /// the counters polled.
    func resubscribe(on connection: RedisConnection, node: RedisNode) -> EventLoopFuture<Void> {
        // Called by the client before the connection takes other commands; whatever fails here is
        // retried by the next maintenance tick.
        guard let bus = table.owner.withLock({ $0 }) else { return connection.eventLoop.makeSucceededVoidFuture() }
        let rooms = table.state.withLock { state -> [RoomID] in
            state.pollSoon = true
            let rooms = state.feeds.keys.filter { bus.redis.owner(ofKey: RedisKeys($0).channel) == node || state.feeds[$0]!.channel.node == node }
            for room in rooms { state.feeds[room]!.channel.reconnected() }
            return rooms
        }
        let sent = rooms.compactMap { room -> EventLoopFuture<Void>? in
            guard bus.redis.owner(ofKey: RedisKeys(room).channel) == node else { return nil }
            return subscribe(room, on: (connection, node), bus: bus)
        }
        return EventLoopFuture.andAllComplete(sent, on: connection.eventLoop)
    }

    /// The server dropped a channel by itself (its slot moved to another master): the next
    /// maintenance tick subscribes it where it now lives and polls the counters.
    func unsubscribedByServer(channel: ByteBuffer) {
        guard let room = RedisKeys.room(ofChannel: String(buffer: channel)) else { return }
        table.owner.withLock { $0 }?.redis.wantSlotMap()
        table.state.withLock { state in
            guard state.feeds[room] != nil else { return }
            state.feeds[room]!.channel.drop()
            state.pollSoon = true
        }
    }

    /// On a change of the slot map (`topologyVersion`): drops the channels whose slot now lives on
    /// another master, to be subscribed there, and says where each was subscribed (to be
    /// unsubscribed there). Called with the table locked, with the rest of a maintenance tick.
    func dropMoved(in state: inout FeedTable.State, topologyVersion: Int, bus: RedisBus) -> [(String, RedisNode)] {
        var moved: [(String, RedisNode)] = []
        guard state.topologyVersion != topologyVersion else { return moved }
        state.topologyVersion = topologyVersion
        for (room, feed) in state.feeds {
            guard let node = feed.channel.node, feed.channel.subscribed || feed.channel.subscribing else { continue }
            let channel = RedisKeys(room).channel
            guard let owner = bus.redis.owner(ofKey: channel), owner != node else { continue }
            moved.append((channel, node))
            state.feeds[room]!.channel.drop()
            state.pollSoon = true
        }
        return moved
    }
}
