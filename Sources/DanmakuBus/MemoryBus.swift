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
        /// The last seq handed out (by `number`).
        var numbered: UInt64 = 0
        /// The last seq stored: what history and `lastSeq` answer with. Behind `numbered` only
        /// while a durable store is writing (`ArchivedLog`).
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
            state.numbered = lastSeq
            for comment in history.suffix(historyCapacity) { state.history.append(comment) }
            rooms[room] = state
        }
    }

    /// Gives a comment the room's next seq without storing it: history and `lastSeq` do not
    /// show it until `store`, so nobody sees a seq that a crash before it is durable could reuse.
    public func number(room: RoomID, unnumbered: ByteBuffer) -> EncodedComment {
        rooms.withLock { rooms in
            var state = rooms[room] ?? Room()
            state.numbered += 1
            rooms[room] = state
            return EncodedComment(numbering: unnumbered, seq: state.numbered, room: room)
        }
    }

    /// Puts a comment numbered by `number` into history (in seq order) once it is durable.
    public func store(_ comment: EncodedComment) {
        rooms.withLock { rooms in
            var state = rooms[comment.room] ?? Room()
            Self.insert(comment, into: &state, capacity: historyCapacity)
            rooms[comment.room] = state
        }
    }

    private static func insert(_ comment: EncodedComment, into state: inout Room, capacity: Int) {
        state.numbered = max(state.numbered, comment.seq)
        state.lastSeq = max(state.lastSeq, comment.seq)
        if state.history.count == capacity {
            guard let oldest = state.history.first, oldest.seq < comment.seq else { return }
            state.history.removeFirst()
        }
        // Nearly always at the end; a store of an earlier seq (another writer's) goes before it.
        var index = state.history.endIndex
        while index > state.history.startIndex, state.history[state.history.index(before: index)].seq > comment.seq {
            index = state.history.index(before: index)
        }
        state.history.insert(comment, at: index)
    }

    public func append(room: RoomID, unnumbered: ByteBuffer) async throws -> EncodedComment {
        rooms.withLock { rooms in
            var state = rooms[room] ?? Room()
            let comment = EncodedComment(numbering: unnumbered, seq: state.numbered + 1, room: room)
            Self.insert(comment, into: &state, capacity: historyCapacity)
            rooms[room] = state
            return comment
        }
    }

    /// The seq of comment `id` if history holds it (a durable store removes it from disk first).
    public func storedSeq(room: RoomID, id: String) -> UInt64? {
        rooms.withLock { rooms in rooms[room]?.history.first(where: { $0.hasID(id) })?.seq }
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
