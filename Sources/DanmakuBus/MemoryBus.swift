// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import NIOCore
import Synchronization

/// The embedded bus: sequencing, history and pub/sub inside one process.
///
/// Delivery is a direct call to each subscriber, so a comment reaches push loops as soon as it
/// is published, and nothing is lost while the process lives.
public final class MemoryBus: CommentBus, CommentLog {
    /// Comments kept per room.
    public let historyCapacity: Int

    private struct Room {
        var lastSeq: UInt64 = 0
        var history = CircularBuffer<EncodedComment>()
    }

    private let rooms = Mutex<[RoomID: Room]>([:])
    private let subscribers = Mutex<[RoomID: [ObjectIdentifier: any BusSubscriber]]>([:])

    public init(historyCapacity: Int) {
        precondition(historyCapacity > 0, "history must hold at least one comment")
        self.historyCapacity = historyCapacity
    }

    /// Puts back a room's state from a durable store: its last seq (numbering continues after
    /// it) and its most recent comments (at most the history capacity are kept).
    public func restore(room: RoomID, lastSeq: UInt64, history: [EncodedComment]) {
        rooms.withLock { rooms in
            var state = Room()
            state.lastSeq = lastSeq
            for comment in history.suffix(historyCapacity) { state.history.append(comment) }
            rooms[room] = state
        }
    }

    /// Drops comment `seq` from history (a store that could not make it durable takes it back).
    public func remove(room: RoomID, seq: UInt64) {
        rooms.withLock { rooms in
            guard var state = rooms[room], let index = state.history.firstIndex(where: { $0.seq == seq }) else { return }
            state.history.remove(at: index)
            rooms[room] = state
        }
    }

    public func append(room: RoomID, unnumbered: ByteBuffer) async throws -> EncodedComment {
        rooms.withLock { rooms in
            var state = rooms[room] ?? Room()
            state.lastSeq += 1
            let comment = EncodedComment(numbering: unnumbered, seq: state.lastSeq, room: room)
            if state.history.count == historyCapacity { state.history.removeFirst() }
            state.history.append(comment)
            rooms[room] = state
            return comment
        }
    }

    public func snapshot(room: RoomID, since: UInt64?, limit: Int, on eventLoop: any EventLoop) -> EventLoopFuture<HistorySnapshot> {
        eventLoop.makeSucceededFuture(snapshot(room: room, since: since, limit: limit))
    }

    private func snapshot(room: RoomID, since: UInt64?, limit: Int) -> HistorySnapshot {
        rooms.withLock { rooms in
            guard let state = rooms[room] else {
                return HistorySnapshot(lastSeq: 0, firstAvailableSeq: 1, comments: [])
            }
            let first = state.history.first?.seq ?? state.lastSeq + 1
            let selected: [EncodedComment]
            if let since {
                // Seqs ascend, with holes where comments were retracted.
                let start = state.history.firstIndex { $0.seq > since } ?? state.history.endIndex
                selected = Array(state.history[start...].prefix(limit))
            } else {
                selected = Array(state.history.suffix(limit))
            }
            return HistorySnapshot(lastSeq: state.lastSeq, firstAvailableSeq: first, comments: selected)
        }
    }

    public func retract(room: RoomID, id: String) async throws -> UInt64? {
        rooms.withLock { rooms in
            guard var state = rooms[room], let index = state.history.firstIndex(where: { $0.hasID(id) }) else { return nil }
            let seq = state.history[index].seq
            state.history = CircularBuffer(state.history.filter { $0.seq != seq })
            rooms[room] = state
            return seq
        }
    }

    public func publishRetraction(seq: UInt64, id: String, room: RoomID) async throws {
        let targets = subscribers.withLock { Array(($0[room] ?? [:]).values) }
        for subscriber in targets { subscriber.retract(seq: seq, id: id, room: room) }
    }

    public func publish(_ comments: [EncodedComment], room: RoomID) async throws {
        let targets = subscribers.withLock { Array(($0[room] ?? [:]).values) }
        for subscriber in targets { subscriber.deliver(comments, room: room) }
    }

    public func subscribe(_ room: RoomID, subscriber: any BusSubscriber, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        subscribers.withLock { $0[room, default: [:]][ObjectIdentifier(subscriber)] = subscriber }
        return eventLoop.makeSucceededVoidFuture()
    }

    public func unsubscribe(_ room: RoomID, subscriber: any BusSubscriber) {
        subscribers.withLock { subscribers in
            subscribers[room]?[ObjectIdentifier(subscriber)] = nil
            if subscribers[room]?.isEmpty == true { subscribers[room] = nil }
        }
    }

    /// Rooms with at least one subscriber (for tests and metrics).
    public var subscribedRooms: Int { subscribers.withLock { $0.count } }
}
